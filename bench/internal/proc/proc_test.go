package proc

import (
	"os"
	"testing"
)

func TestReadsOwnProcess(t *testing.T) {
	hz, err := ClockTicks()
	if err != nil {
		t.Skip(err)
	}
	x := 0
	for i := range 50_000_000 { // burn a little CPU so utime is likely non-zero
		x += i
	}
	_ = x
	s, err := CPU{PID: os.Getpid(), Ticks: hz}.Seconds()
	if err != nil || s < 0 {
		t.Fatalf("cpu seconds %v, %v", s, err)
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS || m.Threads <= 0 {
		t.Fatalf("memory %+v, %v", m, err)
	}
}
