// Command gatewayprof runs the Switchyard gateway exactly as `switchyard serve --config`
// builds it, plus a CPU profiler the benchmark can switch on and off: SIGUSR1 starts
// profiling into -cpuprofile, SIGTERM (or SIGINT) stops it, writes the file, and shuts
// the gateway down. It exists so the production binary needs no profiling endpoint.
//
// Usage:
//
//	gatewayprof -config FILE -listen ADDR -cpuprofile FILE [-exit-after 1h]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/logx"
)

func main() { os.Exit(run()) }

func run() int {
	cfgPath := flag.String("config", "", "gateway configuration file (required)")
	listen := flag.String("listen", "", "listen address, overriding the config's")
	out := flag.String("cpuprofile", "gateway.cpu.pprof", "CPU profile written between SIGUSR1 and SIGTERM")
	exitAfter := flag.Duration("exit-after", time.Hour, "stop by itself after this long")
	flag.Parse()
	cfg, err := config.Load(*cfgPath, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	lw := logx.NewBufferedWriter(os.Stderr, 0)
	defer lw.Close()
	g, err := gateway.New(cfg, logx.New(lw, cfg.Log.Level))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewayprof:", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewayprof:", err)
		return 1
	}
	go func() { _ = g.Serve(ln) }()

	start := make(chan os.Signal, 1)
	signal.Notify(start, syscall.SIGUSR1)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	var f *os.File
	deadline := time.After(*exitAfter)
wait:
	for {
		select {
		case <-start:
			if f == nil {
				if f, err = os.Create(*out); err == nil {
					err = pprof.StartCPUProfile(f)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "gatewayprof:", err)
					return 1
				}
			}
		case <-stop:
			break wait
		case <-deadline:
			break wait
		}
	}
	if f != nil {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = g.Shutdown(ctx)
	return 0
}
