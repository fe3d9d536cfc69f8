// Command bareproxy is the benchmark's floor: the least a fasthttp reverse proxy can do.
// It forwards each request to one upstream through a pooled fasthttp.HostClient and
// copies the answer back, streaming the body through as it arrives; a chunked (SSE)
// answer is flushed to the client chunk by chunk. Nothing else: no parsing, routing,
// authentication, logging or metering. Hop-by-hop headers are dropped both ways, as any
// correct proxy must.
//
// Usage:
//
//	bareproxy -upstream 127.0.0.1:9000 [-listen 127.0.0.1:0] [-timeout 10m] [-exit-after 1h]
//
// It prints "listening ADDR" on stdout once it accepts connections, and stops on SIGINT,
// SIGTERM or when -exit-after has passed.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (loopback)")
	upstream := flag.String("upstream", "", "upstream host:port (required)")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on the wait for upstream response headers")
	exitAfter := flag.Duration("exit-after", time.Hour, "stop by itself after this long (0: never)")
	flag.Parse()
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "bareproxy: -upstream is required")
		os.Exit(2)
	}
	srv := newServer(*upstream, *timeout)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy:", err)
		os.Exit(1)
	}
	fmt.Println("listening", ln.Addr())
	go func() { _ = srv.Serve(ln) }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *exitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *exitAfter)
		defer cancel()
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.ShutdownWithContext(sctx)
}

// newServer returns a server proxying to upstream (host:port); timeout bounds the wait
// for the upstream's response headers. Pool settings match the gateway's upstream pool;
// server settings are fasthttp's defaults, as bare as it gets.
func newServer(upstream string, timeout time.Duration) *fasthttp.Server {
	p := &proxy{timeout: timeout, client: &fasthttp.HostClient{
		Addr:                          upstream,
		MaxConns:                      4096,
		MaxIdleConnDuration:           90 * time.Second,
		MaxIdemponentCallAttempts:     1,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		ConnPoolStrategy:              fasthttp.LIFO,
	}}
	return &fasthttp.Server{Handler: p.handle, NoDefaultServerHeader: true, NoDefaultContentType: true,
		IdleTimeout: 120 * time.Second, CloseOnShutdown: true}
}

// proxy forwards every request to one upstream host.
type proxy struct {
	client  *fasthttp.HostClient
	timeout time.Duration
}

// hopByHop are the headers that describe one connection, not the message (RFC 9110 7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Upgrade"}

// handle sends the client's request object itself upstream and lets the upstream answer
// become the client's response: with StreamBody the client returns after the headers and
// the server copies the body from the upstream connection while writing it. A body of
// unknown length (SSE) is written chunked, one flush per upstream read; the server closes
// the body stream when done, which returns the upstream connection to the pool.
func (p *proxy) handle(ctx *fasthttp.RequestCtx) {
	req, resp := &ctx.Request, &ctx.Response
	for _, h := range hopByHop {
		req.Header.Del(h)
	}
	req.SetTimeout(p.timeout)
	resp.StreamBody = true
	if err := p.client.Do(req, resp); err != nil {
		resp.Reset()
		ctx.SetStatusCode(fasthttp.StatusBadGateway)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":{"message":"bareproxy: upstream call failed","type":"server_error","param":null,"code":"bad_gateway"}}`)
		return
	}
	for _, h := range hopByHop {
		resp.Header.Del(h)
	}
}
