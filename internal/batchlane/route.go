package batchlane

import (
	"errors"
	"net/url"
	"strings"
)

// Resource is the kind of provider object a passthrough request addresses.
type Resource uint8

// Resources.
const (
	ResourceFile Resource = iota + 1
	ResourceBatch
)

// Action is what a passthrough request does.
type Action uint8

// Actions. Files support create, list, retrieve, content and delete; batches create,
// list, retrieve and cancel.
const (
	ActionCreate Action = iota + 1
	ActionList
	ActionRetrieve
	ActionContent
	ActionDelete
	ActionCancel
)

// Target is the upstream request a passthrough client request maps to.
type Target struct {
	Resource Resource
	Action   Action
	// ID is the file or batch id in the path; empty for create and list.
	ID string
	// Method is the HTTP method to send upstream (the client's).
	Method string
	// URL is the absolute upstream URL, the client's query string included unchanged.
	URL string
}

// ErrNotPassthrough means the path is not a /v1/files or /v1/batches endpoint: answer
// 404 unknown_url.
var ErrNotPassthrough = errors.New("batchlane: not a files or batches endpoint")

// MethodError means the path is a passthrough endpoint but not for this method: answer
// 405 method_not_allowed with an Allow header.
type MethodError struct {
	// Allow lists the methods the path accepts, comma-separated, for the Allow header.
	Allow string
}

func (e *MethodError) Error() string { return "batchlane: method not allowed; allow " + e.Allow }

// BadQueryError means the query string does not parse: answer 400.
type BadQueryError struct{ Err error }

func (e *BadQueryError) Error() string { return "batchlane: bad query string: " + e.Err.Error() }
func (e *BadQueryError) Unwrap() error { return e.Err }

// Route maps a client request for the OpenAI files or batches API to its upstream
// request on an OpenAI-compatible provider whose API root is baseURL (as in the provider
// config, e.g. https://api.openai.com/v1). path is the client's path, with or without
// the /v1 prefix; rawQuery its query string without "?", forwarded unchanged.
//
// Ids in the path must be 1–128 characters of A-Z a-z 0-9 _ - (OpenAI's file-… and
// batch_… ids), so no path can reach another upstream endpoint. Route checks nothing
// about the caller: pair it with Owners unless Isolation is none. The errors are
// ErrNotPassthrough, *MethodError and *BadQueryError.
func Route(method, path, rawQuery, baseURL string) (Target, error) {
	rest, ok := strings.CutPrefix(path, "/v1")
	if !ok || (rest != "" && rest[0] != '/') {
		rest = path
	}
	var t Target
	var seg string
	switch {
	case rest == "/files" || strings.HasPrefix(rest, "/files/"):
		t.Resource, seg = ResourceFile, rest[len("/files"):]
	case rest == "/batches" || strings.HasPrefix(rest, "/batches/"):
		t.Resource, seg = ResourceBatch, rest[len("/batches"):]
	default:
		return Target{}, ErrNotPassthrough
	}
	shape := seg
	id, sub, hasSub := strings.Cut(strings.TrimPrefix(seg, "/"), "/")
	if seg != "" {
		if !validID(id) {
			return Target{}, ErrNotPassthrough
		}
		shape = "/{id}"
		if hasSub {
			shape += "/" + sub
		}
	}
	var allow []string
	for _, e := range endpoints {
		if e.res != t.Resource || e.shape != shape {
			continue
		}
		allow = append(allow, e.method)
		if e.method == method {
			t.Action = e.action
		}
	}
	switch {
	case len(allow) == 0:
		return Target{}, ErrNotPassthrough
	case t.Action == 0:
		return Target{}, &MethodError{Allow: strings.Join(allow, ", ")}
	}
	if _, err := url.ParseQuery(rawQuery); err != nil {
		return Target{}, &BadQueryError{Err: err}
	}
	t.ID, t.Method = id, method
	t.URL = strings.TrimRight(baseURL, "/") + rest
	if rawQuery != "" {
		t.URL += "?" + rawQuery
	}
	return t, nil
}

// endpoints are the passthrough endpoints: path shape under /files or /batches, method
// and action.
var endpoints = [...]struct {
	res    Resource
	shape  string
	method string
	action Action
}{
	{ResourceFile, "", "GET", ActionList},
	{ResourceFile, "", "POST", ActionCreate},
	{ResourceFile, "/{id}", "GET", ActionRetrieve},
	{ResourceFile, "/{id}", "DELETE", ActionDelete},
	{ResourceFile, "/{id}/content", "GET", ActionContent},
	{ResourceBatch, "", "GET", ActionList},
	{ResourceBatch, "", "POST", ActionCreate},
	{ResourceBatch, "/{id}", "GET", ActionRetrieve},
	{ResourceBatch, "/{id}/cancel", "POST", ActionCancel},
}

// validID reports whether id is a plausible provider object id: 1–128 characters of
// A-Z a-z 0-9 _ -.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ForwardRequestHeader reports whether a client request header is sent upstream on a
// passthrough request. Only the headers that shape the body are: Content-Type (it
// carries the multipart boundary of an upload), Accept and OpenAI-Beta. The client's
// Authorization is the gateway key and never leaves the gateway; the gateway adds the
// provider's credentials itself.
func ForwardRequestHeader(name string) bool {
	return strings.EqualFold(name, "Content-Type") || strings.EqualFold(name, "Accept") ||
		strings.EqualFold(name, "OpenAI-Beta")
}

// ForwardResponseHeader reports whether an upstream response header is copied to the
// client on a passthrough request: Content-Type and Content-Disposition (a file download
// is JSONL or binary, not the gateway's JSON) and OpenAI's processing time.
func ForwardResponseHeader(name string) bool {
	return strings.EqualFold(name, "Content-Type") || strings.EqualFold(name, "Content-Disposition") ||
		strings.EqualFold(name, "OpenAI-Processing-Ms")
}
