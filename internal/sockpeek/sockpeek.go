// Package sockpeek tells whether the peer of a TCP connection has hung up, without
// reading from it: a byte read to find out would be lost to the protocol above.
//
// The gateway uses it two ways: to notice a client that left while its request is being
// served (fasthttp does not tell a handler), and to notice a pooled upstream connection
// that the server closed while it sat idle, before a request is written into it.
package sockpeek

import (
	"net"
	"syscall"
)

// rawConn finds the socket under c: c itself, or what a TLS connection (or any wrapper
// with a NetConn method) wraps.
func rawConn(c net.Conn) (syscall.RawConn, bool) {
	for range 4 {
		switch v := c.(type) {
		case syscall.Conn:
			rc, err := v.SyscallConn()
			return rc, err == nil
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil, false
		}
	}
	return nil, false
}

// Supported reports whether PeerClosed can ask c's socket at all, without a system call.
func Supported(c net.Conn) bool {
	_, ok := rawConn(c)
	return ok && supported
}

// PeerClosed reports whether the peer of c has closed (or reset) its side. ok is false
// when c has no socket to ask (an in-memory pipe) or the platform cannot tell: the caller
// then knows nothing. It does not block, read or change c; it costs one system call.
func PeerClosed(c net.Conn) (closed, ok bool) {
	rc, ok := rawConn(c)
	if !ok {
		return false, false
	}
	var res int8 = -1
	err := rc.Control(func(fd uintptr) { res = hungUp(fd) })
	if err != nil || res < 0 {
		return false, false
	}
	return res == 1, true
}
