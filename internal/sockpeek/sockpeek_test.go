package sockpeek

import (
	"net"
	"testing"
	"time"
)

func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestPeerClosed(t *testing.T) {
	tests := []struct {
		name string
		act  func(peer net.Conn)
		want bool
	}{
		{"a connected peer that sends nothing is still there", func(net.Conn) {}, false},
		{"a peer that sent bytes and stays is still there", func(p net.Conn) { p.Write([]byte("GET / HTTP/1.1\r\n")) }, false},
		{"a peer that closed is gone", func(p net.Conn) { p.Close() }, true},
		{"a peer that sent bytes and then closed is gone", func(p net.Conn) { p.Write([]byte("x")); p.Close() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := pair(t)
			tt.act(c)
			// The FIN crosses loopback asynchronously: a hang-up must show within 2 s; a
			// connected peer must still look connected after 50 ms.
			deadline := time.Now().Add(2 * time.Second)
			if !tt.want {
				time.Sleep(50 * time.Millisecond)
			}
			for {
				closed, ok := PeerClosed(s)
				if !ok {
					t.Skip("this platform cannot tell")
				}
				if closed == tt.want {
					return
				}
				if !tt.want || time.Now().After(deadline) {
					t.Fatalf("PeerClosed = %v, want %v", closed, tt.want)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func TestPeerClosedKnowsNothingOfAPipe(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := PeerClosed(a); ok {
		t.Fatal("an in-memory pipe has no socket; ok must be false")
	}
}
