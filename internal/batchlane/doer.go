package batchlane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchyard/switchyard/internal/provider"
)

// Request is one call to a provider's files or batches API.
type Request struct {
	Method string
	// URL is absolute.
	URL string
	// Header holds the headers to send, the provider's credentials included.
	Header []provider.Header
	// Body is the request body; nil for none. A Doer must not modify or keep it.
	Body []byte
}

// Response is a provider's whole answer to a Request.
type Response struct {
	Status int
	Header []provider.Header
	Body   []byte
}

// Get returns the first value of the response header name (case-insensitive), or "".
func (r *Response) Get(name string) string {
	for _, h := range r.Header {
		if strings.EqualFold(h.Key, name) {
			return h.Value
		}
	}
	return ""
}

// Doer sends one request to a provider and reads the whole answer. It returns an error
// only when no answer arrived (connection failure, timeout, ctx cancelled); an HTTP
// error status is a Response. It must honour ctx's deadline and cancellation, and be
// safe for concurrent use. The gateway supplies one over its pooled fasthttp clients;
// HTTPDoer is the net/http one.
type Doer interface {
	Do(ctx context.Context, req *Request) (*Response, error)
}

// HTTPDoer is a Doer over net/http. The zero value uses http.DefaultClient and reads
// answers of up to 256 MiB.
type HTTPDoer struct {
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// MaxBody bounds an answer's body in bytes; a longer one is an error. 0 means 256 MiB.
	MaxBody int64
}

var _ Doer = (*HTTPDoer)(nil)

// Do sends req with ctx.
func (d *HTTPDoer) Do(ctx context.Context, req *Request) (*Response, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, err
	}
	for _, h := range req.Header {
		hr.Header.Add(h.Key, h.Value)
	}
	c := d.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := d.MaxBody
	if limit <= 0 {
		limit = 256 << 20
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("batchlane: answer from %s is larger than %d bytes", req.URL, limit)
	}
	out := &Response{Status: resp.StatusCode, Body: data}
	for k, vs := range resp.Header {
		for _, v := range vs {
			out.Header = append(out.Header, provider.Header{Key: k, Value: v})
		}
	}
	return out, nil
}
