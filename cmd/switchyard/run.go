package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/logx"
)

const usage = `usage:
  switchyard serve [--config FILE] [--listen ADDR]   run the gateway (embedded default without --config)
  switchyard policy check [--config FILE] FILE|DIR    validate a routing policy (file:line errors)
  switchyard policy explain --config FILE --request BODY.json [--header K:V]... [--key NAME]
                                                      show how a request would be routed, sending nothing
  switchyard spend export [--config FILE|--ledger URL] [--period NAME|--from DAY --to DAY] [--group-by LIST]
                                                      export per-feature spend from the cost ledger
  switchyard prompt render|diff|lock|check ...          work with prompt files (see switchyard prompt)
  switchyard version                                  print the version
`

// run is the composition root: it parses the command line and runs one subcommand,
// returning the process exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], getenv, stderr)
	case "policy":
		return policyCmd(args[1:], getenv, stdout, stderr)
	case "spend":
		return spendExport(args[1:], getenv, stdout, stderr)
	case "prompt":
		return promptCmd(args[1:], getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "switchyard", gateway.Version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "switchyard: unknown command %q\n%s", args[0], usage)
	return 2
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// ledgerKind names the ledger without its credentials.
func ledgerKind(url string) string {
	kind, _, _ := strings.Cut(url, ":")
	return kind
}

func serve(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", getenv("SWITCHYARD_CONFIG"), "configuration file (YAML); the embedded default when empty")
	listen := fs.String("listen", getenv("SWITCHYARD_LISTEN"), "listen address, overriding the config's listen")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var cfg *config.Config
	if *cfgPath == "" {
		cfg = config.Embedded(getenv)
	} else {
		var err error
		if cfg, err = config.Load(*cfgPath, getenv); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	lw := logx.NewBufferedWriter(stderr, 0)
	defer lw.Close()
	log := logx.New(lw, cfg.Log.Level)
	// go-redis has one logger per process, printing plain text to stderr by default:
	// give it the JSON logger, bounded (a Redis outage fails every command).
	redis.SetLogger(cache.NewRedisLogger(log))
	g, err := gateway.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Error("cannot listen", "address", cfg.Listen, "error", err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := g.ReloadPolicy(); err != nil {
					log.Error("policy reload on SIGHUP rejected", "error", err.Error())
				}
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(ln) }()
	log.Info("serving", "address", ln.Addr().String(), "config", cfg.File(), "version", gateway.Version,
		"providers", len(cfg.Providers), "policy", g.PolicyVersion(), "auth", len(cfg.Keys) > 0, "ledger", ledgerKind(cfg.Metering.Ledger))
	if len(cfg.Keys) == 0 && !isLoopback(ln.Addr()) {
		log.Warn("no gateway keys are configured and the gateway listens beyond loopback: anyone who can reach it can spend through its providers' keys",
			"address", ln.Addr().String())
	}
	select {
	case err := <-errc:
		if err != nil {
			log.Error("server failed", "error", err.Error())
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	log.Info("shutting down", "deadline", cfg.Timeouts.Shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Shutdown)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("shutdown deadline passed; open streams were cut", "error", err.Error())
	}
	if err := <-errc; err != nil {
		log.Error("serving ended with an error", "error", err.Error())
	}
	log.Info("stopped")
	return 0
}
