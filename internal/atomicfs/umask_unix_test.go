//go:build unix

package atomicfs

import (
	"syscall"
	"testing"
)

// strictUmask sets a umask that would strip group and other bits.
func strictUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
}
