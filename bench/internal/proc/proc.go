// Package proc reads a process's CPU time and memory from Linux's /proc, for comparing
// what each server process spends under the same load.
package proc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// ClockTicks returns the kernel's clock ticks per second (USER_HZ) as `getconf CLK_TCK`
// reports it; /proc/PID/stat counts CPU time in these ticks.
func ClockTicks() (int64, error) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 0, fmt.Errorf("getconf CLK_TCK: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("getconf CLK_TCK: unexpected %q", out)
	}
	return n, nil
}

// CPUTicks returns the user plus system CPU time of process pid (all its threads), in
// clock ticks: fields 14 (utime) and 15 (stime) of /proc/PID/stat.
func CPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces; fields after
	// the last ')' start at field 3 (state).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return utime + stime, nil
}

// Memory is a process's resident memory and thread count from /proc/PID/status.
type Memory struct {
	RSS     int64 // VmRSS, bytes
	HWM     int64 // VmHWM (peak RSS since start), bytes
	Threads int
}

// ReadMemory reads VmRSS, VmHWM and Threads of process pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n << 10 // reported in kB
		case "VmHWM":
			m.HWM = n << 10
		case "Threads":
			m.Threads = int(n)
		}
	}
	return m, nil
}

// CPU samples one process's CPU time so the time spent between two samples can be
// turned into seconds.
type CPU struct {
	PID   int
	Ticks int64 // clock ticks per second
}

// Seconds returns the process's total CPU time so far.
func (c CPU) Seconds() (float64, error) {
	t, err := CPUTicks(c.PID)
	if err != nil {
		return 0, err
	}
	return float64(t) / float64(c.Ticks), nil
}
