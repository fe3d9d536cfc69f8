package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// hopByHop lists the headers that belong to one connection and are never forwarded
// (RFC 9110 §7.6.1), plus those the gateway sets itself.
var hopByHop = [][]byte{
	[]byte("Connection"), []byte("Keep-Alive"), []byte("Proxy-Connection"), []byte("Proxy-Authenticate"),
	[]byte("Proxy-Authorization"), []byte("Te"), []byte("Trailer"), []byte("Transfer-Encoding"),
	[]byte("Upgrade"), []byte("Content-Length"), []byte("Date"), []byte("Server"), []byte("Set-Cookie"),
	[]byte("Alt-Svc"),
}

// forwardedRequestHeaders are the only client headers sent upstream (copied at the
// edge): the client's own Authorization is the gateway key and must never leave the
// gateway. Anthropic's headers matter to a native Messages provider (Claude Code needs
// them forwarded); a translator's own value of one wins (see buildUpstreamRequest).
var forwardedRequestHeaders = []string{"OpenAI-Beta", "Anthropic-Beta", "Anthropic-Version"}

// copyResponseHeaders copies the upstream's end-to-end headers to the client response:
// hop-by-hop ones, those named in the upstream's Connection header and those the
// gateway owns are dropped.
func copyResponseHeaders(dst *fasthttp.ResponseHeader, src *fasthttp.ResponseHeader) {
	conn := src.Peek("Connection")
	for k, v := range src.All() {
		if isHopByHop(k) || (len(conn) > 0 && listHas(conn, k)) {
			continue
		}
		if bytes.EqualFold(k, []byte("Content-Type")) || bytes.EqualFold(k, []byte(headerRequestID)) {
			continue
		}
		if len(k) > 12 && bytes.EqualFold(k[:12], []byte("x-ratelimit-")) && len(dst.PeekBytes(k)) > 0 {
			continue // a limited route's own headers win over the provider's (limits.go)
		}
		dst.AddBytesKV(k, v)
	}
}

func isHopByHop(k []byte) bool {
	for _, h := range hopByHop {
		if bytes.EqualFold(k, h) {
			return true
		}
	}
	return false
}

// listHas reports whether the comma-separated header list contains name.
func listHas(list, name []byte) bool {
	for len(list) > 0 {
		i := bytes.IndexByte(list, ',')
		item := list
		if i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		if bytes.EqualFold(bytes.TrimSpace(item), name) {
			return true
		}
	}
	return false
}
