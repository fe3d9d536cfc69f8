package cache

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Control is a request's cache directive: what the client allows for this one request.
// The zero value allows everything the route's rules allow.
type Control struct {
	// NoRead skips the lookup: the answer is always fetched fresh.
	NoRead bool
	// NoWrite keeps the fresh answer out of the cache.
	NoWrite bool
	// MaxAge, when positive, serves only entries younger than it.
	MaxAge time.Duration
}

// HeaderName is the request header carrying a Switchyard cache directive.
const HeaderName = "x-switchyard-cache"

// ParseControl reads a request's cache directives: the x-switchyard-cache header value
// (switchyard) and the standard Cache-Control header value (cacheControl); either may be
// empty and their effects add up.
//
// x-switchyard-cache (comma-separated, case-insensitive):
//   - no-cache: bypass the cache entirely, neither read nor write;
//   - no-store: may be served from the cache, the fresh answer is not stored;
//   - refresh:  do not read, store the fresh answer (replaces the entry).
//
// Cache-Control (RFC 9111 request directives; others are ignored):
//   - no-cache or max-age=0: the client wants a fresh answer: like refresh;
//   - max-age=N (N > 0): serve only entries younger than N seconds;
//   - no-store: like no-store above (RFC 9111 forbids storing, not serving).
//
// An unknown x-switchyard-cache token is an error (the gateway answers 400); unknown
// Cache-Control directives are ignored, as HTTP caches do.
//
// For a streamed request (stream true) Cache-Control's no-cache is ignored: SSE clients
// (browsers' EventSource, go-openai) send it by convention, to keep proxies from buffering
// the stream, not to ask for a fresh answer.
func ParseControl(switchyard, cacheControl string, stream bool) (Control, error) {
	var c Control
	for tok := range strings.SplitSeq(switchyard, ",") {
		switch strings.ToLower(strings.TrimSpace(tok)) {
		case "":
		case "no-cache":
			c.NoRead, c.NoWrite = true, true
		case "no-store":
			c.NoWrite = true
		case "refresh":
			c.NoRead = true
		default:
			return Control{}, fmt.Errorf("cache: unknown %s directive %q (want no-cache, no-store or refresh)", HeaderName, strings.TrimSpace(tok))
		}
	}
	for tok := range strings.SplitSeq(cacheControl, ",") {
		name, arg, _ := strings.Cut(strings.TrimSpace(tok), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-cache":
			c.NoRead = c.NoRead || !stream
		case "no-store":
			c.NoWrite = true
		case "max-age":
			secs, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
			switch {
			case err != nil || secs < 0:
				// RFC 9111 4.2.1: an invalid max-age is treated as stale: revalidate.
				c.NoRead = true
			case secs == 0:
				c.NoRead = true
			case c.MaxAge == 0 || time.Duration(secs)*time.Second < c.MaxAge:
				c.MaxAge = time.Duration(secs) * time.Second
			}
		}
	}
	return c, nil
}
