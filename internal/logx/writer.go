// Package logx builds the gateway's structured logger.
package logx

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// BufferedWriter batches log lines so the request path does not pay a write system call
// per line. Lines are flushed every interval and on Close; a crash can lose at most one
// interval of log lines. Safe for concurrent use.
type BufferedWriter struct {
	mu   sync.Mutex
	bw   *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewBufferedWriter starts a writer over w that flushes every interval (100ms when 0).
func NewBufferedWriter(w io.Writer, interval time.Duration) *BufferedWriter {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	b := &BufferedWriter{bw: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

func (b *BufferedWriter) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			b.Flush()
			return
		}
	}
}

// Write buffers p.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bw.Write(p)
}

// Flush writes out what is buffered.
func (b *BufferedWriter) Flush() {
	b.mu.Lock()
	_ = b.bw.Flush()
	b.mu.Unlock()
}

// Close flushes and stops the background flusher.
func (b *BufferedWriter) Close() error {
	close(b.stop)
	<-b.done
	return nil
}

// New returns a JSON logger at level ("debug", "info", "warn", "error") writing to w.
func New(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
