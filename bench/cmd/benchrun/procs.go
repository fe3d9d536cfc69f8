package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is one server process the benchmark started and must stop.
type server struct {
	name   string
	addr   string // host:port it serves on
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has ended
}

// PID returns the server's process id (taskset execs the server in place, so pinning
// does not change it).
func (s *server) PID() int { return s.cmd.Process.Pid }

// stop sends SIGTERM, then SIGKILL if the process is still there after a grace period.
func (s *server) stop() {
	if s == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// command builds an exec.Cmd for one of the built binaries, on the given CPU when the
// run is pinned. Children get SIGKILL if benchrun dies, so nothing outlives it.
func (b *bench) command(ctx context.Context, cpu string, bin string, args ...string) *exec.Cmd {
	path := filepath.Join(b.binDir, bin)
	var cmd *exec.Cmd
	if b.opts.pin {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu, path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// startListening starts a bench binary that prints "listening ADDR" once it serves.
func (b *bench) startListening(name, bin string, args ...string) (*server, error) {
	cmd := b.command(context.Background(), serverCPU, bin, args...)
	logf, err := os.Create(filepath.Join(b.outDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s, err := b.launch(name, cmd, logf)
	if err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		for sc.Scan() { // keep draining so the child never blocks on a full pipe
		}
	}()
	select {
	case l := <-line:
		addr, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			s.stop()
			return nil, fmt.Errorf("%s: unexpected first line %q", name, l)
		}
		s.addr = addr
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("%s exited early; see %s", name, logf.Name())
	case <-time.After(15 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s did not start listening", name)
	}
}

// startGateway starts the gateway (or gatewayprof) on a free port with the config file
// and waits until /healthz answers.
func (b *bench) startGateway(name, bin, configPath string, extra ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--config", configPath, "--listen", addr}, extra...)
	if bin == "switchyard" {
		args = append([]string{"serve"}, args...)
	}
	cmd := b.command(context.Background(), serverCPU, bin, args...)
	logf, err := os.Create(filepath.Join(b.outDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	s, err := b.launch(name, cmd, logf)
	if err != nil {
		return nil, err
	}
	s.addr = addr
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s exited early; see %s", name, logf.Name())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("%s did not become healthy on %s; see %s", name, addr, logf.Name())
}

func (b *bench) launch(name string, cmd *exec.Cmd, logf *os.File) (*server, error) {
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(s.exited)
	}()
	b.started = append(b.started, s)
	return s, nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// build compiles the gateway and the bench binaries into binDir.
func (b *bench) build() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", b.binDir+string(filepath.Separator),
		"./cmd/switchyard", "./bench/cmd/fakeupstream", "./bench/cmd/bareproxy",
		"./bench/cmd/loadgen", "./bench/cmd/gatewayprof")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run benchrun inside the switchyard module")
	}
	return filepath.Dir(mod), nil
}
