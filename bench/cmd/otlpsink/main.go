// Command otlpsink is an OTLP/HTTP receiver that counts exports and drops them, so a
// benchmark can measure the gateway's telemetry cost with a real exporter.
//
//	otlpsink [-exit-after 1h]
//
// It prints "listening URL" and stops on SIGINT, SIGTERM or after -exit-after.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
)

func main() {
	exitAfter := flag.Duration("exit-after", time.Hour, "stop by itself after this long")
	flag.Parse()
	rcv, err := otlptest.StartSink()
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlpsink:", err)
		os.Exit(1)
	}
	defer rcv.Close()
	fmt.Println("listening", rcv.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(*exitAfter):
	}
	fmt.Println("exports received:", rcv.Posts())
}
