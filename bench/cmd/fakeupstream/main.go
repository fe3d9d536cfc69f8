// Command fakeupstream serves the deterministic OpenAI-compatible mock (internal/mock) on
// a TCP address, as the upstream of the benchmark.
//
// Usage:
//
//	fakeupstream [-listen 127.0.0.1:0] [-delay 0] [-chunks 4] [-chunk-interval 0] [-reply TEXT] [-exit-after 1h]
//
// It prints "listening ADDR" on stdout once it accepts connections, and stops on SIGINT,
// SIGTERM or when -exit-after has passed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (loopback)")
	delay := flag.Duration("delay", 0, "wait before sending response headers")
	chunks := flag.Int("chunks", 4, "content chunks per streamed answer (at most one per byte of the reply)")
	interval := flag.Duration("chunk-interval", 0, "pause between streamed chunks")
	reply := flag.String("reply", "", "assistant text for every answer; default echoes the last user message")
	exitAfter := flag.Duration("exit-after", time.Hour, "stop by itself after this long (0: never)")
	flag.Parse()

	srv := mock.New(mock.Config{Delay: *delay, Chunks: *chunks, ChunkInterval: *interval, Reply: *reply}, false)
	addr, err := srv.Listen(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeupstream:", err)
		os.Exit(1)
	}
	fmt.Println("listening", addr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *exitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *exitAfter)
		defer cancel()
	}
	<-ctx.Done()
	_ = srv.Close()
}
