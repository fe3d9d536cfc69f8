package testutil

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Event is one Server-Sent Event as a client received it.
type Event struct {
	// Data is the event's data lines joined with '\n'.
	Data string
	// At is when the event's terminating blank line was read. Events that reached the
	// client in one batch carry (almost) the same time.
	At time.Time
}

// Done reports whether the event is OpenAI's [DONE] terminator.
func (e Event) Done() bool { return e.Data == "[DONE]" }

// EventReader reads SSE events one at a time from a response body.
type EventReader struct {
	br *bufio.Reader
}

// NewEventReader reads events from r.
func NewEventReader(r io.Reader) *EventReader { return &EventReader{br: bufio.NewReader(r)} }

// Next returns the next event, io.EOF at a clean end between events, or the read error
// (io.ErrUnexpectedEOF when the body ended inside an event).
func (r *EventReader) Next() (Event, error) {
	var data []string
	seen := false
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			if err == io.EOF && !seen && line == "" {
				return Event{}, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if seen {
				return Event{Data: strings.Join(data, "\n"), At: time.Now()}, nil
			}
		case strings.HasPrefix(line, ":"): // comment
		case strings.HasPrefix(line, "data:"):
			seen = true
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		default:
			seen = true
		}
	}
}

// ReadAll reads events until the body ends; it returns those read and the error that
// ended the body (nil for a clean end).
func (r *EventReader) ReadAll() ([]Event, error) {
	var evs []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// Stream posts body to the gateway's path and returns the open response after its
// headers; the caller reads and closes the body.
func (g *Gateway) Stream(t testing.TB, path, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return resp
}

// Envelope is the OpenAI error envelope's inner object. Code and Param are nil when the
// envelope has null.
type Envelope struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    *string `json:"code"`
	Param   *string `json:"param"`
}

// CodeString returns the code, "" for null.
func (e Envelope) CodeString() string {
	if e.Code == nil {
		return ""
	}
	return *e.Code
}

// ParamString returns the param, "" for null.
func (e Envelope) ParamString() string {
	if e.Param == nil {
		return ""
	}
	return *e.Param
}

// ParseEnvelope checks that b is exactly an OpenAI error envelope,
// {"error":{"message","type","code","param"}} with all four members present, a
// non-empty message and type, and string-or-null code and param, and returns it.
func ParseEnvelope(b []byte) (Envelope, error) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(b, &outer); err != nil {
		return Envelope{}, fmt.Errorf("not JSON: %v: %q", err, b)
	}
	inner, ok := outer["error"]
	if !ok || len(outer) != 1 {
		return Envelope{}, fmt.Errorf("want only an \"error\" member: %s", b)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(inner, &members); err != nil {
		return Envelope{}, fmt.Errorf("error is not an object: %s", b)
	}
	for _, k := range []string{"message", "type", "code", "param"} {
		if _, ok := members[k]; !ok {
			return Envelope{}, fmt.Errorf("error has no %q member: %s", k, b)
		}
	}
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(inner))
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, fmt.Errorf("error members have wrong types: %v: %s", err, b)
	}
	if e.Message == "" || e.Type == "" {
		return Envelope{}, fmt.Errorf("empty message or type: %s", b)
	}
	return e, nil
}
