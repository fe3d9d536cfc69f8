//go:build !linux

package sockpeek

// hungUp cannot tell on this platform without reading: unknown.
func hungUp(uintptr) int8 { return -1 }

// supported: this platform cannot tell.
const supported = false
