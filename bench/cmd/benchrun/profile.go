package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profileConcurrency is the load level of the CPU profile.
const profileConcurrency = "64"

// runProfile profiles the gateway at concurrency 64 for each request kind in -modes.
func (b *bench) runProfile() error {
	for _, mode := range b.opts.modes {
		if b.ctx.Err() != nil {
			return b.ctx.Err()
		}
		if err := b.profileMode(mode); err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
	}
	return nil
}

// profileMode runs the gateway under gatewayprof, drives chat completions of one kind
// at concurrency 64 through it, profiles the measured part and prints pprof's top
// entries by cumulative and by flat time.
func (b *bench) profileMode(mode string) error {
	prof := filepath.Join(b.outDir, "gateway-"+mode+".cpu.pprof")
	srv, err := b.startGateway("gateway-profile-"+mode, "gatewayprof", b.gatewayConfig, "-cpuprofile", prof, "-exit-after", b.exitAfter())
	if err != nil {
		return err
	}
	defer srv.stop()
	args := []string{"-url", "http://" + srv.addr + "/v1/chat/completions", "-concurrency", profileConcurrency,
		"-timeout", "10s", "-warmup", "0", "-prompt-bytes", strconv.Itoa(b.opts.promptBytes), "-json"}
	if mode == "stream" {
		args = append(args, "-stream")
	}
	if b.opts.warmup > 0 {
		if _, _, err := b.loadgen(append(args, "-duration", b.opts.warmup.String()), nil); err != nil {
			return err
		}
	}
	if err := srv.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return err
	}
	d := max(b.opts.duration, 5*time.Second)
	b.logf("profiling the gateway for %v at concurrency %s (%s)", d, profileConcurrency, mode)
	res, _, err := b.loadgen(append(args, "-duration", d.String()), nil)
	if err != nil {
		return err
	}
	srv.stop() // SIGTERM: gatewayprof writes the profile, then exits
	var out strings.Builder
	fmt.Fprintf(&out, "\nGateway CPU profile (%s): %v at concurrency %s, %.0f req/s, %d errors (%s)\n",
		mode, d, profileConcurrency, res.Throughput, res.Errors, prof)
	for _, view := range [][]string{{"-cum"}, {}} {
		name := "flat"
		if len(view) > 0 {
			name = "cumulative"
		}
		cmd := exec.Command("go", append(append([]string{"tool", "pprof", "-top", "-nodecount=15"}, view...), prof)...)
		text, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go tool pprof: %w\n%s", err, text)
		}
		fmt.Fprintf(&out, "\n-- top 15 by %s time --\n%s", name, text)
	}
	fmt.Print(out.String())
	return os.WriteFile(filepath.Join(b.outDir, "gateway-"+mode+".cpu.top.txt"), []byte(out.String()), 0o644)
}
