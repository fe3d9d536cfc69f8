package gateway_test

import (
	"encoding/json"
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
	"github.com/switchyard/switchyard/policies"
)

func reloadPolicy(provider string, valid bool, n int) string {
	target := "m"
	if !valid {
		target = "ghost" // an unknown model: rejected at line 6
	}
	return fmt.Sprintf(`models:
  m:
    deployments: [{provider: %s, name: %s}]
routes:
  - name: default-%d
    targets: [{model: %s}]
`, provider, provider, n, target)
}

type policyStatus struct {
	Version   string `json:"version"`
	LastError string `json:"last_error"`
	Rejected  int    `json:"rejected"`
}

func adminPolicy(t *testing.T, g *testutil.Gateway) policyStatus {
	t.Helper()
	req, _ := newGet(g.URL+"/admin/policy", "Bearer admin-secret")
	resp := g.Do(t, req)
	var st policyStatus
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	return st
}

func TestHotReloadUnderLoadDropsNothing(t *testing.T) {
	u1 := testutil.StartUpstream(t, mock.Config{})
	u2 := testutil.StartUpstream(t, mock.Config{})
	g, path := routingGateway(t, map[string]*testutil.Upstream{"p1": u1, "p2": u2}, reloadPolicy("p1", true, 0))

	var stop atomic.Bool
	var total, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := g.HTTP.Post(g.URL+"/v1/chat/completions", "application/json", strings.NewReader(simBody))
				total.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprint(err, resp))
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	write := func(doc string) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	current := adminPolicy(t, g).Version
	var slowest time.Duration
	for i := 1; i <= 20; i++ {
		valid := i%4 != 0 // 5 of the 20 rewrites are invalid
		provider := []string{"p1", "p2"}[i%2]
		doc := reloadPolicy(provider, valid, i)
		write(doc)
		start := time.Now()
		if valid {
			want := policies.Version([]policies.Source{{Name: path, Data: []byte(doc)}})
			for adminPolicy(t, g).Version != want {
				if time.Since(start) > time.Second {
					t.Fatalf("rewrite %d did not take effect within 1s", i)
				}
				time.Sleep(10 * time.Millisecond)
			}
			slowest = max(slowest, time.Since(start))
			if d := served(t, g, simBody); d != provider {
				t.Fatalf("rewrite %d: served by %s, want %s", i, d, provider)
			}
			current = want
			continue
		}
		var st policyStatus
		for {
			st = adminPolicy(t, g)
			if strings.Contains(st.LastError, fmt.Sprintf("default-%d", i)) {
				break
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("invalid rewrite %d was not rejected: %+v", i, st)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if st.Version != current || !strings.Contains(st.LastError, "policy.yaml:6: route \"default-"+fmt.Sprint(i)+"\": unknown model \"ghost\"") {
			t.Fatalf("invalid rewrite %d: status %+v", i, st)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", failed.Load(), total.Load(), firstFailure.Load())
	}
	if st := adminPolicy(t, g); st.Rejected != 5 {
		t.Fatalf("rejected %d reloads, want 5", st.Rejected)
	}
	t.Logf("%d requests, 0 failed; slowest valid reload took effect in %v", total.Load(), slowest)
}

func TestPolicyFileNamesItsPathInAdminStatus(t *testing.T) {
	u := testutil.StartUpstream(t, mock.Config{})
	g, path := routingGateway(t, map[string]*testutil.Upstream{"p1": u}, reloadPolicy("p1", true, 0))
	req, _ := newGet(g.URL+"/admin/policy", "Bearer wrong")
	if r := g.Do(t, req); r.Status != 401 {
		t.Fatalf("a wrong admin key got %d", r.Status)
	}
	req, _ = newGet(g.URL+"/admin/policy", "Bearer admin-secret")
	r := g.Do(t, req)
	if r.Status != 200 || !strings.Contains(string(r.Body), filepath.Base(path)) {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func newGet(url, auth string) (*http.Request, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err == nil {
		req.Header.Set("Authorization", auth)
	}
	return req, err
}
