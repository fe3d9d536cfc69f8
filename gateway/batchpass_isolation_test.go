package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/testutil"
)

// passthroughClient calls a gateway's files and batches passthrough as one gateway key,
// with optional extra headers (pairs of name and value).
type passthroughClient struct {
	g       *testutil.Gateway
	key     string
	headers []string
}

func (c passthroughClient) call(t *testing.T, method, path, contentType string, body []byte) testutil.Response {
	t.Helper()
	req, _ := http.NewRequest(method, c.g.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(c.headers); i += 2 {
		req.Header.Set(c.headers[i], c.headers[i+1])
	}
	return c.g.Do(t, req)
}

// upload sends a one-line batch input file and returns its id.
func (c passthroughClient) upload(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "input.jsonl")
	fmt.Fprint(fw, `{"custom_id":"r0","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}}`+"\n")
	_ = mw.Close()
	r := c.call(t, "POST", "/v1/files", mw.FormDataContentType(), buf.Bytes())
	var file struct{ ID string }
	if r.Status != 200 || json.Unmarshal(r.Body, &file) != nil || file.ID == "" {
		t.Fatalf("upload as %s: %d %s", c.key, r.Status, r.Body)
	}
	return file.ID
}

// createBatch makes a batch of an uploaded file and returns its id.
func (c passthroughClient) createBatch(t *testing.T, fileID string) string {
	t.Helper()
	r := c.call(t, "POST", "/v1/batches", "application/json",
		[]byte(`{"input_file_id":"`+fileID+`","endpoint":"/v1/chat/completions","completion_window":"24h"}`))
	var b struct{ ID string }
	if r.Status != 200 || json.Unmarshal(r.Body, &b) != nil || b.ID == "" {
		t.Fatalf("create batch as %s: %d %s", c.key, r.Status, r.Body)
	}
	return b.ID
}

// listIDs lists files or batches and returns the ids the answer shows.
func (c passthroughClient) listIDs(t *testing.T, path string) []string {
	t.Helper()
	r := c.call(t, "GET", path, "", nil)
	var l struct{ Data []struct{ ID string } }
	if r.Status != 200 || json.Unmarshal(r.Body, &l) != nil {
		t.Fatalf("list %s as %s: %d %s", path, c.key, r.Status, r.Body)
	}
	var ids []string
	for _, d := range l.Data {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestTeamIsolationFollowsTheKeysOwnTeamNotTheAttributionHeader is issue 12, defect 6:
// with isolation team, a key allowed to set attribution headers that names another team
// in x-switchyard-team must neither see nor touch that team's files and batches, and
// what it creates with the header stays its own team's.
func TestTeamIsolationFollowsTheKeysOwnTeamNotTheAttributionHeader(t *testing.T) {
	fp := startFakeBatchProvider(t)
	g := testutil.StartGateway(t, fmt.Sprintf(`
batch_lane: {enabled: true, isolation: team}
providers: [{name: openai, base_url: %s, api_key_env: KEY}]
models: [{name: gpt-4o-mini, provider: openai}]
keys:
  - {name: etl, key_env: ETL, team: data}
  - {name: etl2, key_env: ETL2, team: data}
  - {name: web, key_env: WEB, team: growth, allow_attribution_headers: true}
`, fp.URL), map[string]string{"KEY": "sk-provider", "ETL": "k-etl", "ETL2": "k-etl2", "WEB": "k-web"})
	owner := passthroughClient{g: g, key: "k-etl"}
	teammate := passthroughClient{g: g, key: "k-etl2"}
	intruder := passthroughClient{g: g, key: "k-web", headers: []string{"X-Switchyard-Team", "data"}}

	fileID := owner.upload(t)
	batchID := owner.createBatch(t, fileID)
	spareID := owner.upload(t)

	tests := []struct {
		name         string
		method, path string
		upstream     string // the call that must not reach the provider
	}{
		{"retrieving the batch", "GET", "/v1/batches/" + batchID, "GET /batches/" + batchID},
		{"cancelling the batch", "POST", "/v1/batches/" + batchID + "/cancel", "POST /batches/" + batchID + "/cancel"},
		{"retrieving the file", "GET", "/v1/files/" + fileID, "GET /files/" + fileID},
		{"downloading the file", "GET", "/v1/files/" + fileID + "/content", "GET /files/" + fileID + "/content"},
		{"deleting the file", "DELETE", "/v1/files/" + spareID, "DELETE /files/" + spareID},
	}
	for _, tt := range tests {
		t.Run("a forged team header does not allow "+tt.name, func(t *testing.T) {
			if r := intruder.call(t, tt.method, tt.path, "", nil); r.Status != 404 {
				t.Fatalf("%s %s with x-switchyard-team: data answered %d %s, want 404", tt.method, tt.path, r.Status, r.Body)
			}
			fp.mu.Lock()
			n := fp.calls[tt.upstream]
			fp.mu.Unlock()
			if n != 0 {
				t.Fatalf("%s reached the provider %d times", tt.upstream, n)
			}
		})
	}
	t.Run("a forged team header lists none of the team's files or batches", func(t *testing.T) {
		for _, path := range []string{"/v1/files", "/v1/batches"} {
			if ids := intruder.listIDs(t, path); len(ids) != 0 {
				t.Fatalf("%s showed %v to another team's key", path, ids)
			}
		}
	})
	t.Run("a forged team header cannot batch the team's file", func(t *testing.T) {
		r := intruder.call(t, "POST", "/v1/batches", "application/json",
			[]byte(`{"input_file_id":"`+fileID+`","endpoint":"/v1/chat/completions","completion_window":"24h"}`))
		if r.Status != 404 {
			t.Fatalf("create batch from another team's file: %d %s", r.Status, r.Body)
		}
	})
	t.Run("what a forged team header uploads stays the uploader's team's", func(t *testing.T) {
		planted := intruder.upload(t)
		if r := teammate.call(t, "GET", "/v1/files/"+planted, "", nil); r.Status != 404 {
			t.Fatalf("team data saw a file team growth uploaded with x-switchyard-team: data: %d", r.Status)
		}
		if r := (passthroughClient{g: g, key: "k-web"}).call(t, "GET", "/v1/files/"+planted, "", nil); r.Status != 200 {
			t.Fatalf("the uploader lost its own file: %d %s", r.Status, r.Body)
		}
	})
	t.Run("a key of the owning team still sees and uses them", func(t *testing.T) {
		if r := teammate.call(t, "GET", "/v1/batches/"+batchID, "", nil); r.Status != 200 {
			t.Fatalf("a teammate could not retrieve the team's batch: %d %s", r.Status, r.Body)
		}
		if ids := teammate.listIDs(t, "/v1/files"); !strings.Contains(strings.Join(ids, ","), fileID) {
			t.Fatalf("a teammate's list %v lacks the team's file %s", ids, fileID)
		}
		if r := teammate.call(t, "DELETE", "/v1/files/"+spareID, "", nil); r.Status != 200 {
			t.Fatalf("a teammate could not delete the team's file: %d %s", r.Status, r.Body)
		}
	})
}
