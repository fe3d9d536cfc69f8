package mock

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		err  string
	}{
		{"the zero value is valid", Settings{}, ""},
		{"every kind is valid", Settings{Failure: Failure{Rate: 0.5, Kind: FailErrorEvent}}, ""},
		{"a rate above 1 is rejected", Settings{Failure: Failure{Rate: 1.5}}, "failure.rate"},
		{"a negative rate is rejected", Settings{Failure: Failure{Rate: -0.1}}, "failure.rate"},
		{"an unknown kind is rejected", Settings{Failure: Failure{Rate: 0.1, Kind: "explode"}}, `failure.kind "explode"`},
		{"a status outside 400-599 is rejected", Settings{Failure: Failure{Rate: 0.1, Status: 200}}, "failure.status"},
		{"a negative latency is rejected", Settings{Latency: -time.Second}, "latency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.err)
			}
		})
	}
}

// serve starts a mock with s on loopback and returns its base URL.
func serve(t *testing.T, s Settings) string {
	t.Helper()
	m := New(s.Config(), false)
	addr, err := m.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return "http://" + addr
}

func chat(t *testing.T, client *http.Client, base string, stream bool) (int, string, time.Duration) {
	t.Helper()
	body := `{"model":"m","messages":[{"role":"user","content":"one two three four five six seven eight"}]` +
		map[bool]string{true: `,"stream":true}`, false: `}`}[stream]
	start := time.Now()
	resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err.Error(), time.Since(start)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, string(b) + " read error: " + err.Error(), time.Since(start)
	}
	return resp.StatusCode, string(b), time.Since(start)
}

func TestSettingsFailTheirShareOfRequests(t *testing.T) {
	base := serve(t, Settings{Failure: Failure{Rate: 0.5, Status: 429, RetryAfter: 2}})
	var statuses []int
	for range 6 {
		code, _, _ := chat(t, http.DefaultClient, base, false)
		statuses = append(statuses, code)
	}
	want := []int{200, 429, 200, 429, 200, 429}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
}

func TestSettingsShapeTheAnswer(t *testing.T) {
	tests := []struct {
		name    string
		s       Settings
		stream  bool
		status  int
		minTime time.Duration
		body    string // a part of the body
		absent  string // not in the body
	}{
		{"latency delays the first byte", Settings{Latency: 150 * time.Millisecond}, false, 200, 150 * time.Millisecond, `"finish_reason":"stop"`, ""},
		{"chunk pacing spreads a stream", Settings{Chunks: 4, ChunkInterval: 40 * time.Millisecond}, true, 200, 160 * time.Millisecond, "[DONE]", ""},
		{"the default status is 503", Settings{Failure: Failure{Rate: 1}}, false, 503, 0, `"error"`, ""},
		{"error_event ends a stream with an error event", Settings{Failure: Failure{Rate: 1, Kind: FailErrorEvent, AfterChunks: 2}}, true, 200, 0, "mock failure mid-stream", "[DONE]"},
		{"cut ends a stream without its end", Settings{Failure: Failure{Rate: 1, Kind: FailCut}}, true, 200, 0, "chat.completion.chunk", "[DONE]"},
		{"a mid-stream kind leaves non-streamed answers alone", Settings{Failure: Failure{Rate: 1, Kind: FailCut}}, false, 200, 0, `"finish_reason":"stop"`, ""},
		{"a reply replaces the echo", Settings{Reply: "fixed answer"}, false, 200, 0, "fixed answer", "Mock reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); err != nil {
				t.Fatal(err)
			}
			code, body, took := chat(t, http.DefaultClient, serve(t, tt.s), tt.stream)
			if code != tt.status || took < tt.minTime || !strings.Contains(body, tt.body) || (tt.absent != "" && strings.Contains(body, tt.absent)) {
				t.Fatalf("status %d in %v, body %q; want %d, at least %v, containing %q and not %q",
					code, took, body, tt.status, tt.minTime, tt.body, tt.absent)
			}
		})
	}
}

func TestHangNeverAnswers(t *testing.T) {
	base := serve(t, Settings{Failure: Failure{Rate: 1, Kind: FailHang}})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	if code, body, _ := chat(t, client, base, false); code != 0 {
		t.Fatalf("a hanging mock answered %d %q", code, body)
	}
}
