package batchlane_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// fakeKey is the provider key the fake batch API accepts.
const fakeKey = "sk-fake-batch"

// fakeBatchAPI is a fake OpenAI files and batches API over loopback (net/http on
// 127.0.0.1:0). A batch is "validating" on its first poll and "in_progress" after,
// and finishes on its pollsToFinish-th poll: it then writes an output file with one
// chat.completion (or embedding list) per input line, usage included, and an error file
// for the lines whose request asks for the content "bad". Behaviours for failure tests
// are fields set before use or under mu.
type fakeBatchAPI struct {
	srv           *httptest.Server
	pollsToFinish int

	mu      sync.Mutex
	files   map[string]*fakeFile
	batches map[string]*fakeBatch
	seq     int
	// uploaded holds every batch input file uploaded, in order
	uploaded [][]byte
	// counters of calls answered
	uploads, creates, creations, polls, downloads, deletes, lists int

	failWith    string        // batches fail validation with this message
	expire      bool          // batches expire: only the first request of each ran
	loseCreates int           // the next creates make the batch but answer 500
	failUploads int           // the next uploads answer 503
	hangPolls   bool          // polls wait until the client goes away
	pollSeen    chan struct{} // when set, gets a token per poll received (non-blocking)
	hungUp      chan struct{} // gets a token when a hung poll's client went away
}

type fakeFile struct {
	id, purpose, name string
	data              []byte
}

type fakeBatch struct {
	id, inputFileID, endpoint, status string
	outputFileID, errorFileID         string
	errMsg                            string
	polls                             int
}

func newFakeBatchAPI(t testing.TB, pollsToFinish int) *fakeBatchAPI {
	f := &fakeBatchAPI{pollsToFinish: pollsToFinish, files: map[string]*fakeFile{}, batches: map[string]*fakeBatch{},
		hungUp: make(chan struct{}, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/files", f.upload)
	mux.HandleFunc("GET /v1/files/{id}/content", f.content)
	mux.HandleFunc("DELETE /v1/files/{id}", f.deleteFile)
	mux.HandleFunc("POST /v1/batches", f.create)
	mux.HandleFunc("GET /v1/batches/{id}", f.retrieve)
	mux.HandleFunc("GET /v1/batches", f.list)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+fakeKey {
			apiError(w, 401, "invalid_api_key", "bad key")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// base is the fake's API root, as a provider's base_url.
func (f *fakeBatchAPI) base() string { return f.srv.URL + "/v1" }

// upstream is the Collector's view of the fake.
func (f *fakeBatchAPI) upstream() batchlane.Upstream {
	return batchlane.Upstream{BaseURL: f.base(), Doer: &batchlane.HTTPDoer{},
		Header: []provider.Header{{Key: "Authorization", Value: "Bearer " + fakeKey}}}
}

// count reads a counter under the lock.
func (f *fakeBatchAPI) count(c *int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *c
}

// inputs returns the batch input files uploaded, in upload order, deleted ones included.
func (f *fakeBatchAPI) inputs() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.uploaded...)
}

func (f *fakeBatchAPI) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%d", prefix, f.seq)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":%q}}`, msg, code)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := jsonx.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (f *fakeBatchAPI) upload(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fail := f.failUploads > 0
	if fail {
		f.failUploads--
	}
	f.mu.Unlock()
	if fail {
		apiError(w, 503, "overloaded", "try again")
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		apiError(w, 400, "bad_form", err.Error())
		return
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		apiError(w, 400, "no_file", err.Error())
		return
	}
	data, _ := io.ReadAll(file)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads++
	ff := &fakeFile{id: f.nextID("file"), purpose: r.FormValue("purpose"), name: hdr.Filename, data: data}
	f.files[ff.id] = ff
	if ff.purpose == "batch" {
		f.uploaded = append(f.uploaded, data)
	}
	writeJSON(w, map[string]any{"id": ff.id, "object": "file", "bytes": len(data), "created_at": 1711471533,
		"filename": ff.name, "purpose": ff.purpose})
}

func (f *fakeBatchAPI) content(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	file, ok := f.files[r.PathValue("id")]
	if !ok {
		apiError(w, 404, "not_found", "no such file")
		return
	}
	f.downloads++
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(file.data)
}

func (f *fakeBatchAPI) deleteFile(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	if _, ok := f.files[id]; !ok {
		apiError(w, 404, "not_found", "no such file")
		return
	}
	delete(f.files, id)
	f.deletes++
	writeJSON(w, map[string]any{"id": id, "object": "file", "deleted": true})
}

func (f *fakeBatchAPI) create(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		InputFileID      string `json:"input_file_id"`
		Endpoint         string `json:"endpoint"`
		CompletionWindow string `json:"completion_window"`
	}
	if err := jsonx.Unmarshal(body, &req); err != nil || req.CompletionWindow != "24h" {
		apiError(w, 400, "bad_request", fmt.Sprintf("bad batch request %s", body))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates++
	if _, ok := f.files[req.InputFileID]; !ok {
		apiError(w, 400, "invalid_file", "no such input file")
		return
	}
	b := &fakeBatch{id: f.nextID("batch"), inputFileID: req.InputFileID, endpoint: req.Endpoint, status: "validating"}
	f.batches[b.id] = b
	f.creations++
	if f.loseCreates > 0 {
		f.loseCreates--
		apiError(w, 500, "server_error", "the server had an error")
		return
	}
	writeJSON(w, b.object())
}

func (b *fakeBatch) object() map[string]any {
	o := map[string]any{"id": b.id, "object": "batch", "endpoint": b.endpoint, "input_file_id": b.inputFileID,
		"completion_window": "24h", "status": b.status, "output_file_id": nilIfEmpty(b.outputFileID),
		"error_file_id": nilIfEmpty(b.errorFileID), "errors": nil}
	if b.errMsg != "" {
		o["errors"] = map[string]any{"object": "list", "data": []any{
			map[string]any{"code": "invalid_request", "message": b.errMsg, "param": nil, "line": 1}}}
	}
	return o
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (f *fakeBatchAPI) retrieve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.polls++
	hang, seen := f.hangPolls, f.pollSeen
	f.mu.Unlock()
	if seen != nil {
		select {
		case seen <- struct{}{}:
		default:
		}
	}
	if hang {
		<-r.Context().Done()
		f.hungUp <- struct{}{}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.batches[r.PathValue("id")]
	if !ok {
		apiError(w, 404, "not_found", "no such batch")
		return
	}
	b.polls++
	switch {
	case b.status != "validating" && b.status != "in_progress":
	case f.failWith != "":
		b.status, b.errMsg = "failed", f.failWith
	case b.polls >= f.pollsToFinish:
		f.finish(b)
	case b.polls > 1:
		b.status = "in_progress"
	}
	writeJSON(w, b.object())
}

func (f *fakeBatchAPI) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	var data []any
	for i := f.seq; i >= 1; i-- {
		if b, ok := f.batches[fmt.Sprintf("batch-%d", i)]; ok {
			data = append(data, b.object())
		}
	}
	writeJSON(w, map[string]any{"object": "list", "data": data, "has_more": false})
}

// finish runs a batch: it answers every input line (the first only, when expiring) and
// writes the output and error files. Called with f.mu held.
func (f *fakeBatchAPI) finish(b *fakeBatch) {
	var out, errs bytes.Buffer
	for i, line := range bytes.Split(bytes.TrimSpace(f.files[b.inputFileID].data), []byte{'\n'}) {
		customID := jsonx.Get(line, "custom_id").String()
		body := jsonx.Get(line, "body")
		reqID := fmt.Sprintf("batch_req_%s_%d", b.id, i)
		switch text := promptOf(body); {
		case f.expire && i > 0:
			fmt.Fprintf(&errs, `{"id":%q,"custom_id":%q,"response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}`+"\n", reqID, customID)
		case text == "bad":
			fmt.Fprintf(&errs, `{"id":%q,"custom_id":%q,"response":{"status_code":400,"request_id":"req_%d","body":{"error":{"message":"Invalid content","type":"invalid_request_error","param":"messages","code":null}}},"error":null}`+"\n", reqID, customID, i)
		default:
			fmt.Fprintf(&out, `{"id":%q,"custom_id":%q,"response":{"status_code":200,"request_id":"req_%d","body":%s},"error":null}`+"\n",
				reqID, customID, i, answerTo(b.endpoint, body.Get("model").String(), text, i))
		}
	}
	b.status = "completed"
	if f.expire {
		b.status = "expired"
	}
	for _, file := range []struct {
		data *bytes.Buffer
		id   *string
	}{{&out, &b.outputFileID}, {&errs, &b.errorFileID}} {
		if file.data.Len() > 0 {
			ff := &fakeFile{id: f.nextID("file"), purpose: "batch_output", data: file.data.Bytes()}
			f.files[ff.id] = ff
			*file.id = ff.id
		}
	}
}

// promptOf is a request's last message content, or its embeddings input.
func promptOf(body jsonx.Result) string {
	if msgs := body.Get("messages").Array(); len(msgs) > 0 {
		return msgs[len(msgs)-1].Get("content").String()
	}
	return body.Get("input").String()
}

// fakeUsage is the usage the fake reports for a prompt: deterministic, so tests can
// check each job got its own.
func fakeUsage(text string) (prompt, completion int) { return 10 + len(text), 3 + len(text)/2 }

func answerTo(endpoint, model, text string, i int) string {
	prompt, completion := fakeUsage(text)
	if strings.HasSuffix(endpoint, "/embeddings") {
		return fmt.Sprintf(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":%q,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`,
			model, prompt, prompt)
	}
	return fmt.Sprintf(`{"id":"chatcmpl-%d","object":"chat.completion","created":1711652795,"model":"%s-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":%q},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_3"}`,
		i, model, "echo: "+text, prompt, completion, prompt+completion)
}
