package batchlane_test

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"testing"

	"github.com/switchyard/switchyard/internal/batchlane"
)

func TestInspectUploadReadsABatchInputsModelsAndEndpoints(t *testing.T) {
	ct, form := batchUpload(t,
		inputLine("a", "gpt-4o-mini", "x"),
		"",
		inputLine("b", "gpt-4.1", "y"),
		`{"custom_id":"c","method":"POST","url":"/v1/embeddings","body":{"model":"text-embedding-3-small","input":"z"}}`)
	up, err := batchlane.InspectUpload(ct, form)
	if err != nil {
		t.Fatal(err)
	}
	if up.Purpose != "batch" || up.Filename != "nightly.jsonl" || up.Requests != 3 ||
		fmt.Sprint(up.Models) != "[gpt-4.1 gpt-4o-mini text-embedding-3-small]" ||
		fmt.Sprint(up.Endpoints) != "[/v1/chat/completions /v1/embeddings]" {
		t.Errorf("got %+v", up)
	}
}

func TestInspectUploadRefusesMalformedUploads(t *testing.T) {
	form := func(purpose string, withFile bool, content string) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if purpose != "" {
			mw.WriteField("purpose", purpose)
		}
		if withFile {
			fw, _ := mw.CreateFormFile("file", "in.jsonl")
			fw.Write([]byte(content))
		}
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	tests := []struct {
		name    string
		ct      string
		body    []byte
		wantErr bool
	}{
		{"JSON instead of a form", "application/json", []byte(`{}`), true},
		{"a form without a file", "", nil, true},
		{"a line that is not JSON", "", nil, true},
		{"a line without custom_id", "", nil, true},
		{"a fine-tune file is not read", "", nil, false},
	}
	tests[1].ct, tests[1].body = form("batch", false, "")
	tests[2].ct, tests[2].body = form("batch", true, inputLine("a", "m", "x")+"\nnot json\n")
	tests[3].ct, tests[3].body = form("batch", true, `{"method":"POST","url":"/v1/chat/completions","body":{}}`)
	tests[4].ct, tests[4].body = form("fine-tune", true, "anything at all")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := batchlane.InspectUpload(tt.ct, tt.body)
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, batchlane.ErrBadUpload)) {
				t.Errorf("error %v, want error=%v", err, tt.wantErr)
			}
		})
	}
}
