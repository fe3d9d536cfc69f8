package batchlane_test

import (
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/batchlane"
)

func TestRouteMapsFilesAndBatchesRequestsToTheProvider(t *testing.T) {
	const base = "https://api.openai.com/v1/"
	tests := []struct {
		name, method, path, query string
		wantURL                   string
		wantRes                   batchlane.Resource
		wantAction                batchlane.Action
		wantID                    string
	}{
		{"an upload", "POST", "/v1/files", "", "https://api.openai.com/v1/files", batchlane.ResourceFile, batchlane.ActionCreate, ""},
		{"a file list with its query", "GET", "/v1/files", "purpose=batch&limit=2&after=file-abc", "https://api.openai.com/v1/files?purpose=batch&limit=2&after=file-abc", batchlane.ResourceFile, batchlane.ActionList, ""},
		{"a file", "GET", "/v1/files/file-abc123", "", "https://api.openai.com/v1/files/file-abc123", batchlane.ResourceFile, batchlane.ActionRetrieve, "file-abc123"},
		{"a file's content", "GET", "/v1/files/file-abc123/content", "", "https://api.openai.com/v1/files/file-abc123/content", batchlane.ResourceFile, batchlane.ActionContent, "file-abc123"},
		{"a file deletion", "DELETE", "/v1/files/file-abc123", "", "https://api.openai.com/v1/files/file-abc123", batchlane.ResourceFile, batchlane.ActionDelete, "file-abc123"},
		{"a batch creation", "POST", "/v1/batches", "", "https://api.openai.com/v1/batches", batchlane.ResourceBatch, batchlane.ActionCreate, ""},
		{"a batch list", "GET", "/v1/batches", "limit=10", "https://api.openai.com/v1/batches?limit=10", batchlane.ResourceBatch, batchlane.ActionList, ""},
		{"a batch", "GET", "/v1/batches/batch_67a1", "", "https://api.openai.com/v1/batches/batch_67a1", batchlane.ResourceBatch, batchlane.ActionRetrieve, "batch_67a1"},
		{"a batch cancellation", "POST", "/v1/batches/batch_67a1/cancel", "", "https://api.openai.com/v1/batches/batch_67a1/cancel", batchlane.ResourceBatch, batchlane.ActionCancel, "batch_67a1"},
		{"a path without /v1", "GET", "/batches/batch_67a1", "", "https://api.openai.com/v1/batches/batch_67a1", batchlane.ResourceBatch, batchlane.ActionRetrieve, "batch_67a1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := batchlane.Route(tt.method, tt.path, tt.query, base)
			if err != nil {
				t.Fatal(err)
			}
			want := batchlane.Target{Resource: tt.wantRes, Action: tt.wantAction, ID: tt.wantID, Method: tt.method, URL: tt.wantURL}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestRouteRefusesWhatIsNotAFilesOrBatchesEndpoint(t *testing.T) {
	var methodErr *batchlane.MethodError
	var queryErr *batchlane.BadQueryError
	tests := []struct {
		name, method, path, query string
		want                      func(error) bool
		wantAllow                 string
	}{
		{"another endpoint", "POST", "/v1/chat/completions", "", is(batchlane.ErrNotPassthrough), ""},
		{"a look-alike prefix", "GET", "/v1/filesystem", "", is(batchlane.ErrNotPassthrough), ""},
		{"a look-alike version", "GET", "/v1x/files", "", is(batchlane.ErrNotPassthrough), ""},
		{"a dot-dot id", "GET", "/v1/files/../chat/completions", "", is(batchlane.ErrNotPassthrough), ""},
		{"an encoded slash in an id", "GET", "/v1/files/file%2Fx/content", "", is(batchlane.ErrNotPassthrough), ""},
		{"an empty id", "GET", "/v1/files/", "", is(batchlane.ErrNotPassthrough), ""},
		{"an unknown sub-resource", "GET", "/v1/batches/batch_1/output", "", is(batchlane.ErrNotPassthrough), ""},
		{"content of a batch", "GET", "/v1/batches/batch_1/content", "", is(batchlane.ErrNotPassthrough), ""},
		{"a very long id", "GET", "/v1/files/" + string(make([]byte, 200)), "", is(batchlane.ErrNotPassthrough), ""},
		{"deleting a batch", "DELETE", "/v1/batches/batch_1", "", func(e error) bool { return errors.As(e, &methodErr) }, "GET"},
		{"putting a file", "PUT", "/v1/files", "", func(e error) bool { return errors.As(e, &methodErr) }, "GET, POST"},
		{"getting a cancel", "GET", "/v1/batches/batch_1/cancel", "", func(e error) bool { return errors.As(e, &methodErr) }, "POST"},
		{"a broken query", "GET", "/v1/files", "limit=%zz", func(e error) bool { return errors.As(e, &queryErr) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			methodErr = nil
			_, err := batchlane.Route(tt.method, tt.path, tt.query, "http://127.0.0.1:9/v1")
			if !tt.want(err) {
				t.Fatalf("error %v", err)
			}
			if tt.wantAllow != "" && methodErr.Allow != tt.wantAllow {
				t.Errorf("Allow %q, want %q", methodErr.Allow, tt.wantAllow)
			}
		})
	}
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func TestOnlyHeadersThatShapeTheBodyAreForwarded(t *testing.T) {
	for _, tt := range []struct {
		name     string
		req, rsp bool
	}{
		{"Content-Type", true, true}, {"content-type", true, true}, {"Accept", true, false},
		{"OpenAI-Beta", true, false}, {"Authorization", false, false}, {"Api-Key", false, false},
		{"Cookie", false, false}, {"Content-Disposition", false, true}, {"Set-Cookie", false, false},
		{"Connection", false, false}, {"OpenAI-Organization", false, false},
	} {
		if got := batchlane.ForwardRequestHeader(tt.name); got != tt.req {
			t.Errorf("ForwardRequestHeader(%s) = %v", tt.name, got)
		}
		if got := batchlane.ForwardResponseHeader(tt.name); got != tt.rsp {
			t.Errorf("ForwardResponseHeader(%s) = %v", tt.name, got)
		}
	}
}
