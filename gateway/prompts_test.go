package gateway_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// copyPrompts copies the prompt registry used by the policies tests into a temp dir.
func copyPrompts(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "policies", "testdata", "prompts")
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func promptGateway(t *testing.T) (*testutil.Gateway, *testutil.Upstream, string, string) {
	t.Helper()
	dir := copyPrompts(t)
	up := testutil.StartUpstream(t, mock.Config{})
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
admin_key_env: ADMIN
prompts: %s
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}, {name: gpt-4o, provider: openai}]
`, dir, ledger, up.URL), map[string]string{"ADMIN": "adm"})
	return g, up, dir, ledger
}

func TestPromptReferencesRenderServerSide(t *testing.T) {
	g, up, _, _ := promptGateway(t)
	tests := []struct {
		name, body  string
		headers     []string
		status      int
		wantPrompt  string
		wantInBody  string
		wantParam   string
		wantMessage string
	}{
		{"a prompt object with a version renders it", `{"model":"","prompt":{"id":"support-reply","version":"2","variables":{"customer":"Ada","question":"Where is my order?"}}}`,
			nil, 200, "support-reply@2", `Be friendly.`, "", ""},
		{"client messages come after the rendered ones", `{"model":"","prompt":{"id":"support-reply","version":"2","variables":{"customer":"Ada","question":"Q"}},"messages":[{"role":"user","content":"and another thing"}]}`,
			nil, 200, "support-reply@2", `"and another thing"`, "", ""},
		{"the header names a label", `{"model":"","messages":[],"user":"u1"}`,
			[]string{"X-Switchyard-Prompt", "support-reply@production"}, 400, "", "", "prompt.variables.customer", ""},
		{"a missing required variable is a 400 naming it", `{"model":"","prompt":{"id":"support-reply","version":"2","variables":{"question":"Q"}}}`,
			nil, 400, "", "", "prompt.variables.customer", ""},
		{"a mistyped variable is a 400 naming it", `{"model":"","prompt":{"id":"support-reply","version":"2","variables":{"customer":"A","question":"Q","vip":"yes"}}}`,
			nil, 400, "", "", "prompt.variables.vip", ""},
		{"an unknown prompt is a 400 on prompt", `{"model":"","prompt":{"id":"nope"}}`,
			nil, 400, "", "", "prompt", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.Requests())
			r := g.Post(t, "/v1/chat/completions", tt.body, tt.headers...)
			if r.Status != tt.status {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if tt.status != 200 {
				e, err := testutil.ParseEnvelope(r.Body)
				if err != nil || e.ParamString() != tt.wantParam {
					t.Fatalf("envelope %+v %v", e, err)
				}
				return
			}
			if got := r.Header.Get("X-Switchyard-Prompt"); got != tt.wantPrompt {
				t.Fatalf("x-switchyard-prompt %q", got)
			}
			reqs := up.Requests()
			if len(reqs) != before+1 {
				t.Fatal("no upstream request")
			}
			sent := string(reqs[len(reqs)-1].Body)
			if !strings.Contains(sent, tt.wantInBody) || strings.Contains(sent, `"prompt"`) || !strings.Contains(sent, `"model":"gpt-4o-mini"`) {
				t.Fatalf("upstream got %s", sent)
			}
		})
	}
}

func TestChangingAPinByHotReloadUnderLoad(t *testing.T) {
	g, _, dir, _ := promptGateway(t)
	body := `{"model":"","user":"%s","prompt":{"id":"support-reply","variables":{"customer":"Ada","question":"Q"}}}`
	var stop atomic.Bool
	var failed, total atomic.Int64
	var mu sync.Mutex
	seen := map[string]time.Time{} // prompt version -> first time served
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(fmt.Sprintf(body, fmt.Sprint("u", w, "-", i))))
				req.Header.Set("Content-Type", "application/json")
				resp, err := g.HTTP.Do(req)
				total.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				} else {
					mu.Lock()
					v := resp.Header.Get("X-Switchyard-Prompt")
					if _, ok := seen[v]; !ok {
						seen[v] = time.Now()
					}
					mu.Unlock()
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	pins := filepath.Join(dir, "pins.yaml")
	b, _ := os.ReadFile(pins)
	// production moves to 3 and canary to 2 (a split may not name one version twice)
	updated := strings.Replace(strings.Replace(string(b), "production: 2", "production: 3", 1), "canary: 3", "canary: 2", 1)
	if updated == string(b) {
		t.Fatal("the test's pins.yaml changed shape")
	}
	changed := time.Now()
	if err := os.WriteFile(pins+".tmp", []byte(updated), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pins+".tmp", pins); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed", failed.Load(), total.Load())
	}
	first3, ok := seen["support-reply@3"]
	if _, ok2 := seen["support-reply@2"]; !ok || !ok2 {
		t.Fatalf("versions served: %v", seen)
	}
	if d := first3.Sub(changed); d > time.Second {
		t.Fatalf("the new pin served %v after the change", d)
	}
	t.Logf("%d requests, 0 failed; version 3 served %v after the pin changed", total.Load(), first3.Sub(changed).Round(time.Millisecond))
}

func TestSpendExportGroupsByPromptVersion(t *testing.T) {
	g, _, _, ledger := promptGateway(t)
	for i, v := range []string{"1", "2", "2"} {
		body := fmt.Sprintf(`{"model":"","prompt":{"id":"support-reply","version":"%s","variables":{"customer":"Ada","question":"Where is order %d?"}}}`, v, i)
		if r := g.Post(t, "/v1/chat/completions", body, "X-Request-Id", fmt.Sprint("p-", i)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	ledgerEvents(t, ledger, 3)
	day := time.Now().UTC().Format(time.DateOnly)
	next := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	req, _ := http.NewRequest("GET", g.URL+"/admin/spend?from="+day+"&to="+next+"&group_by=prompt_version&format=csv", nil)
	req.Header.Set("Authorization", "Bearer adm")
	r := g.Do(t, req)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	rows := map[string][]string{}
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	header := strings.Split(lines[0], ",")
	for _, l := range lines[1:] {
		cells := strings.Split(l, ",")
		rows[cells[1]+"@"+cells[2]] = cells // prompt_version groups by prompt_id and prompt_version
	}
	col := -1
	for i, h := range header {
		if h == "cost_per_request_usd" {
			col = i
		}
	}
	v1, v2 := rows["support-reply@1"], rows["support-reply@2"]
	if col < 0 || v1 == nil || v2 == nil || v1[3] != "1" || v2[3] != "2" || v1[col] == "" || v2[col] == "" {
		t.Fatalf("export:\n%s", r.Body)
	}
	if v1[col] == v2[col] {
		t.Logf("versions cost the same per request: %s", v1[col])
	}
}
