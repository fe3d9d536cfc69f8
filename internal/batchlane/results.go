package batchlane

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// ResultLine is one line of a batch output or error file:
//
//	{"id":"batch_req_…","custom_id":"…","response":{"status_code":200,"request_id":"…","body":{…}},"error":null}
//
// A request the provider answered has StatusCode > 0 and its Body (an error answer has a
// 4xx/5xx StatusCode and an OpenAI error body); a request that never ran (the batch
// expired or was cancelled first) has StatusCode 0 and ErrorCode set.
type ResultLine struct {
	// Line is the 1-based line number in the file.
	Line int
	// ID is the provider's id for this request of the batch ("batch_req_…"). It is unique
	// across the provider account: use it as the cost event's request id, so that
	// downloading the same file twice never meters it twice.
	ID string
	// CustomID is the custom_id the input line carried.
	CustomID string
	// StatusCode is response.status_code; 0 when there is no response.
	StatusCode int
	// RequestID is response.request_id, the provider's request id.
	RequestID string
	// Body is response.body exactly as in the file: a sub-slice of the parsed input, not
	// a copy. Nil when there is no response body.
	Body []byte
	// Model is response.body.model, the model that served the request.
	Model string
	// Usage is response.body.usage; Usage.Reported is false when the body has none (an
	// error answer, a request that never ran).
	Usage provider.Usage
	// ErrorCode and ErrorMessage are the line's error object, or else, for an error
	// answer, the body's error; empty when the request succeeded.
	ErrorCode, ErrorMessage string
}

// maxLineErrors is how many malformed lines ParseResults describes one by one.
const maxLineErrors = 10

// ParseResults reads a batch output or error file (JSONL, one ResultLine per line; blank
// lines and CRLF line ends are fine). It returns every line it could read, in file order,
// and an error naming the lines it could not (not a JSON object, or no custom_id), so a
// single bad line never hides the usage of the others. The returned Body slices alias
// jsonl: keep jsonl unchanged while they are used, or copy them.
//
// Cost: one pass over each line with the jsonx scanner; no full decode, no copy of bodies.
func ParseResults(jsonl []byte) ([]ResultLine, error) {
	out := make([]ResultLine, 0, bytes.Count(jsonl, []byte{'\n'})+1)
	var errs []error
	bad := 0
	for n, rest := 1, jsonl; len(rest) > 0; n++ {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		r, err := parseLine(line)
		if err != nil {
			if bad++; bad <= maxLineErrors {
				errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			}
			continue
		}
		r.Line = n
		out = append(out, r)
	}
	if bad > maxLineErrors {
		errs = append(errs, fmt.Errorf("%d more malformed lines", bad-maxLineErrors))
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("batchlane: batch results: %w", errors.Join(errs...))
	}
	return out, nil
}

// parseLine reads one result line. Strings are copied out of line (they outlive any
// reuse of the caller's buffer); Body is a sub-slice of line.
func parseLine(line []byte) (ResultLine, error) {
	if line[0] != '{' || !jsonx.Valid(line) {
		return ResultLine{}, errors.New("not a JSON object")
	}
	doc := jsonx.View(line)
	var r ResultLine
	r.CustomID = clone(doc.Get("custom_id"))
	if r.CustomID == "" {
		return ResultLine{}, errors.New("no custom_id")
	}
	r.ID = clone(doc.Get("id"))
	if resp := doc.Get("response"); resp.IsObject() {
		r.StatusCode = int(resp.Get("status_code").Int())
		r.RequestID = clone(resp.Get("request_id"))
		if body := resp.Get("body"); body.IsObject() {
			r.Body = subslice(line, body)
			r.Model = clone(body.Get("model"))
			r.Usage = provider.OpenAIUsage(body.Get("usage"))
			if e := body.Get("error"); e.IsObject() {
				r.ErrorCode, r.ErrorMessage = clone(e.Get("code")), clone(e.Get("message"))
			}
		}
	}
	if e := doc.Get("error"); e.IsObject() {
		r.ErrorCode, r.ErrorMessage = clone(e.Get("code")), clone(e.Get("message"))
	}
	return r, nil
}

// clone returns r's string value as a string that does not alias the parsed buffer.
func clone(r jsonx.Result) string { return strings.Clone(r.String()) }

// subslice returns the bytes of r within doc, which r was found in by View.
func subslice(doc []byte, r jsonx.Result) []byte {
	if r.Index > 0 && r.Index+len(r.Raw) <= len(doc) {
		return doc[r.Index : r.Index+len(r.Raw) : r.Index+len(r.Raw)]
	}
	return []byte(r.Raw)
}
