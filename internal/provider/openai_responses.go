package provider

import (
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/sse"
)

// responsesStream passes a native Responses API stream through, every event byte for
// byte (ev.Raw), and reads what the gateway needs off it:
//
//	response.completed, response.incomplete -> usage from response.usage; done
//	response.failed                         -> usage, done, and a forwarded *StreamError
//	error                                   -> a forwarded *StreamError
//
// The Responses stream has no [DONE]: it ends with one of the three terminal events. An
// event whose data is not JSON is not relayed (the client's SDK could not parse it) and
// ends the stream with an unforwarded *StreamError. Only the terminal and error events
// are parsed beyond their name; the deltas between them are copied.
type responsesStream struct {
	usage Usage
}

var _ StreamDecoder = (*responsesStream)(nil)

func (s *responsesStream) Event(ev *sse.Event, dst []byte) ([]byte, bool, error) {
	if ev.IsDone() { // not OpenAI's, but a compatible server's terminator
		return append(dst, ev.Raw...), true, nil
	}
	name, err := nativeEventName(ev)
	if err != nil {
		return dst, false, err
	}
	dst = append(dst, ev.Raw...)
	switch name {
	case "response.completed", "response.incomplete":
		s.readUsage(ev.Data)
		return dst, true, nil
	case "response.failed":
		s.readUsage(ev.Data)
		return dst, true, responsesFailed(jsonx.Get(ev.Data, "response.error"))
	case "error":
		return dst, false, responsesError(ev.Data)
	}
	return dst, false, nil
}

// Usage returns the usage of the terminal event, unreported before it.
func (s *responsesStream) Usage() Usage { return s.usage }

// readUsage takes response.usage from a terminal event, when it carries one.
func (s *responsesStream) readUsage(data []byte) {
	if u := OpenAIUsage(jsonx.Get(data, "response.usage")); u.Reported {
		s.usage = u
	}
}

// responsesFailed is the forwarded error of a response.failed event, from the
// response's error object ({"code","message"}).
func responsesFailed(e jsonx.Result) error {
	msg, code := e.Get("message").Str, e.Get("code").Str
	if msg == "" {
		msg = "the upstream response failed"
	}
	return &StreamError{Err: apierr.New(502, apierr.TypeUpstream, code, "", msg), Forwarded: true}
}

// responsesError is the forwarded error of an error event. OpenAI documents its fields
// at the top level ({"type":"error","code","message","param"}); an error object nested
// as in Chat Completions streams is read as well.
// The strings kept are copies: data is the reader's buffer.
func responsesError(data []byte) error {
	if e := jsonx.Get(data, "error"); e.IsObject() {
		return upstreamStreamError(e)
	}
	msg := jsonx.Get(data, "message").Str
	if msg == "" {
		msg = "upstream reported an error mid-stream"
	}
	code, param := jsonx.Get(data, "code").Str, jsonx.Get(data, "param").Str
	return &StreamError{Err: apierr.New(502, apierr.TypeUpstream, code, param, msg), Forwarded: true}
}
