//go:build !unix

package metering

import "os"

// lockFile is a no-op where flock(2) does not exist: only one process may use a journal,
// which the operator must ensure.
func lockFile(*os.File) error { return nil }
