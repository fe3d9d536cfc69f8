package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/testutil"
)

// fakeBatchProvider is an OpenAI-compatible provider with a files and batches API on a
// loopback socket: uploaded JSONL inputs become batches that complete on their second
// poll, with one chat.completion (usage included) per input line.
type fakeBatchProvider struct {
	URL              string
	mu               sync.Mutex
	files            map[string][]byte
	batches          map[string]map[string]any
	polls            map[string]int
	uploads, creates int
	seq              int
	// calls counts the requests that reached the provider, by "METHOD /path".
	calls map[string]int
}

func startFakeBatchProvider(t *testing.T) *fakeBatchProvider {
	t.Helper()
	f := &fakeBatchProvider{files: map[string][]byte{}, batches: map[string]map[string]any{}, polls: map[string]int{},
		calls: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	f.URL = "http://" + ln.Addr().String() + "/v1"
	return f
}

func (f *fakeBatchProvider) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	f.calls[r.Method+" "+path]++
	switch {
	case r.Method == "POST" && path == "/files":
		file, _, err := r.FormFile("file")
		if err != nil || r.FormValue("purpose") != "batch" {
			w.WriteHeader(400)
			return
		}
		data, _ := io.ReadAll(file)
		f.seq++
		id := fmt.Sprint("file-", f.seq)
		f.files[id] = data
		f.uploads++
		fmt.Fprintf(w, `{"id":%q,"object":"file","purpose":"batch","bytes":%d}`, id, len(data))
	case r.Method == "POST" && path == "/batches":
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.seq++
		id := fmt.Sprint("batch_", f.seq)
		f.batches[id] = map[string]any{"id": id, "object": "batch", "status": "validating",
			"input_file_id": req["input_file_id"], "endpoint": req["endpoint"]}
		f.creates++
		_ = json.NewEncoder(w).Encode(f.batches[id])
	case r.Method == "GET" && path == "/batches":
		var data []string
		for _, b := range f.batches {
			j, _ := json.Marshal(b)
			data = append(data, string(j))
		}
		fmt.Fprintf(w, `{"object":"list","data":[%s],"has_more":false}`, strings.Join(data, ","))
	case r.Method == "GET" && path == "/files":
		var data []string
		for id := range f.files {
			data = append(data, fmt.Sprintf(`{"id":%q,"object":"file","purpose":"batch"}`, id))
		}
		fmt.Fprintf(w, `{"object":"list","data":[%s],"has_more":false}`, strings.Join(data, ","))
	case r.Method == "POST" && strings.HasPrefix(path, "/batches/") && strings.HasSuffix(path, "/cancel"):
		b := f.batches[strings.TrimSuffix(strings.TrimPrefix(path, "/batches/"), "/cancel")]
		if b == nil {
			w.WriteHeader(404)
			return
		}
		b["status"] = "cancelled"
		_ = json.NewEncoder(w).Encode(b)
	case r.Method == "GET" && strings.HasPrefix(path, "/batches/"):
		id := strings.TrimPrefix(path, "/batches/")
		b := f.batches[id]
		if f.polls[id]++; f.polls[id] >= 2 && b["status"] != "completed" {
			b["status"], b["output_file_id"] = "completed", f.finish(b["input_file_id"].(string))
		}
		_ = json.NewEncoder(w).Encode(b)
	case r.Method == "GET" && strings.HasSuffix(path, "/content"):
		_, _ = w.Write(f.files[strings.TrimSuffix(strings.TrimPrefix(path, "/files/"), "/content")])
	case r.Method == "GET" && strings.HasPrefix(path, "/files/"):
		id := strings.TrimPrefix(path, "/files/")
		if _, ok := f.files[id]; !ok {
			w.WriteHeader(404)
			return
		}
		fmt.Fprintf(w, `{"id":%q,"object":"file","purpose":"batch"}`, id)
	case r.Method == "DELETE" && strings.HasPrefix(path, "/files/"):
		id := strings.TrimPrefix(path, "/files/")
		delete(f.files, id)
		fmt.Fprintf(w, `{"id":%q,"object":"file","deleted":true}`, id)
	default:
		w.WriteHeader(404)
	}
}

// finish writes the output file for an input file and returns its id.
func (f *fakeBatchProvider) finish(input string) string {
	var out strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(string(f.files[input])), "\n") {
		var in struct {
			CustomID string         `json:"custom_id"`
			Body     map[string]any `json:"body"`
		}
		_ = json.Unmarshal([]byte(line), &in)
		answer := fmt.Sprintf(`{"id":"chatcmpl-b%d","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"batched answer %d"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}}`, i, in.Body["model"], i)
		fmt.Fprintf(&out, `{"id":"batch_req_%d","custom_id":%q,"response":{"status_code":200,"request_id":"r%d","body":%s},"error":null}`+"\n", i, in.CustomID, i, answer)
	}
	f.seq++
	id := fmt.Sprint("file-out-", f.seq)
	f.files[id] = []byte(out.String())
	return id
}

func TestTheBatchLaneEndToEnd(t *testing.T) {
	fp := startFakeBatchProvider(t)
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, policy, `
models:
  gpt-4o-mini:
    deployments: [{provider: openai}]
routes:
  - name: nightly
    match: {feature: [nightly]}
    deferrable: true
    targets: [{model: gpt-4o-mini}]
  - name: default
    targets: [{model: $requested}]
`)
	g := testutil.StartGateway(t, fmt.Sprintf(`
policy: %s
batch_lane: {enabled: true, max_wait: 100ms, poll_interval: 50ms}
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s, api_key_env: KEY}]
keys:
  - {name: etl, key_env: ETL, team: data, feature: nightly}
  - {name: web, key_env: WEB, team: growth, feature: search}
`, policy, ledger, fp.URL), map[string]string{"KEY": "sk-provider", "ETL": "k-etl", "WEB": "k-web"})

	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"summarise document %d"}]}`
	var jobs []string
	for i := range 3 {
		r := g.Post(t, "/v1/chat/completions", fmt.Sprintf(body, i), "Authorization", "Bearer k-etl", "X-Switchyard-Priority", "batch")
		if r.Status != 202 || r.Header.Get("X-Switchyard-Job") == "" {
			t.Fatalf("submit %d: %d %s", i, r.Status, r.Body)
		}
		jobs = append(jobs, r.Header.Get("X-Switchyard-Job"))
	}
	if r := g.Post(t, "/v1/chat/completions", fmt.Sprintf(body, 9), "Authorization", "Bearer k-web", "X-Switchyard-Priority", "batch"); r.Status != 403 {
		t.Fatalf("a route without deferrable accepted a deferred request: %d %s", r.Status, r.Body)
	}
	get := func(id, key string) testutil.Response {
		req, _ := http.NewRequest("GET", g.URL+"/v1/switchyard/jobs/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		return g.Do(t, req)
	}
	if r := get(jobs[0], "k-web"); r.Status != 404 {
		t.Fatalf("another key saw the job: %d", r.Status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, id := range jobs {
		for {
			r := get(id, "k-etl")
			if r.Status == 200 {
				if !strings.Contains(string(r.Body), fmt.Sprintf("batched answer %d", i)) || r.Header.Get("X-Switchyard-Job-Status") != "completed" {
					t.Fatalf("job %d got %s", i, r.Body)
				}
				break
			}
			if r.Status != 202 || time.Now().After(deadline) {
				t.Fatalf("job %d: %d %s", i, r.Status, r.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	fp.mu.Lock()
	uploads, creates := fp.uploads, fp.creates
	fp.mu.Unlock()
	if uploads != 1 || creates != 1 {
		t.Fatalf("%d uploads and %d batches for 3 deferred requests, want 1 and 1", uploads, creates)
	}
	evs := ledgerEvents(t, ledger, 3)
	for _, id := range jobs {
		ev := evs[id]
		if ev.Tokens.Input != 1000 || ev.Tokens.Output != 500 || ev.Cost <= 0 || ev.Cost*2 != ev.Counterfactual || ev.Team != "data" {
			t.Fatalf("job %s metered %+v (want half the list price)", id, ev)
		}
	}
}

func TestFilesAndBatchesPassThroughAndResultsAreMeteredOnce(t *testing.T) {
	fp := startFakeBatchProvider(t)
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
batch_lane: {enabled: true}
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s, api_key_env: KEY}]
models: [{name: gpt-4o-mini, provider: openai}]
keys:
  - {name: etl, key_env: ETL, team: data, feature: nightly}
  - {name: web, key_env: WEB, team: growth, feature: search}
`, ledger, fp.URL), map[string]string{"KEY": "sk-provider", "ETL": "k-etl", "WEB": "k-web"})
	call := func(method, path, key, contentType string, body []byte) testutil.Response {
		req, _ := http.NewRequest(method, g.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return g.Do(t, req)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "input.jsonl")
	for i := range 2 {
		fmt.Fprintf(fw, `{"custom_id":"r%d","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi %d"}]}}`+"\n", i, i)
	}
	_ = mw.Close()
	r := call("POST", "/v1/files", "k-etl", mw.FormDataContentType(), buf.Bytes())
	var file struct{ ID string }
	if r.Status != 200 || json.Unmarshal(r.Body, &file) != nil || file.ID == "" {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	r = call("POST", "/v1/batches", "k-etl", "application/json", []byte(`{"input_file_id":"`+file.ID+`","endpoint":"/v1/chat/completions","completion_window":"24h"}`))
	var batch struct {
		ID, Status   string
		OutputFileID string `json:"output_file_id"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &batch) != nil {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := call("GET", "/v1/batches/"+batch.ID, "k-web", "", nil); r.Status != 404 {
		t.Fatalf("another key saw the batch: %d", r.Status)
	}
	for batch.Status != "completed" {
		r = call("GET", "/v1/batches/"+batch.ID, "k-etl", "", nil)
		_ = json.Unmarshal(r.Body, &batch)
	}
	for range 2 { // downloading twice bills once
		r = call("GET", "/v1/files/"+batch.OutputFileID+"/content", "k-etl", "", nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), "batched answer 1") {
			t.Fatalf("download: %d %s", r.Status, r.Body)
		}
	}
	evs := ledgerEvents(t, ledger, 2)
	for _, ev := range evs {
		if ev.Tokens.Input != 1000 || ev.Route != "batch-passthrough" || ev.Team != "data" || ev.Cost <= 0 {
			t.Fatalf("event %+v", ev)
		}
	}
}
