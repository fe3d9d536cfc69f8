//go:build unix

package metering

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f without waiting. The lock belongs to the
// open file, so it is released when f is closed or the process exits (a crash included),
// and a second open of the same journal, in this process or another, is refused.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
