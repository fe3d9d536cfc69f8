package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// idSource makes request ids: a random per-process prefix and a counter, unique across
// replicas without coordination and cheap (no syscall, one small allocation).
type idSource struct {
	prefix string
	n      atomic.Uint64
}

func newIDSource() *idSource {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &idSource{prefix: "req_" + hex.EncodeToString(b[:]) + "_"}
}

func (s *idSource) next(dst []byte) []byte {
	dst = append(dst, s.prefix...)
	return strconv.AppendUint(dst, s.n.Add(1), 36)
}

// saneID accepts an inbound x-request-id of 1 to 128 characters from [A-Za-z0-9._:-].
func saneID(b []byte) bool {
	if len(b) == 0 || len(b) > 128 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

const headerRequestID = "X-Request-Id"

// setRequestID honours a sane inbound x-request-id or makes one, sets it on the response
// and returns it. The bytes are the response header's own; copy to keep them.
func setRequestID(ctx *fasthttp.RequestCtx, ids *idSource) []byte {
	if id := ctx.Response.Header.Peek(headerRequestID); len(id) > 0 {
		return id
	}
	id := ctx.Request.Header.Peek(headerRequestID)
	if !saneID(id) {
		var buf [48]byte
		id = ids.next(buf[:0])
	}
	ctx.Response.Header.SetBytesV(headerRequestID, id)
	return ctx.Response.Header.Peek(headerRequestID)
}
