//go:build unix

package testutil

import (
	"syscall"
	"testing"
)

// Umask sets the process umask for the rest of the test. Tests using it
// must not run in parallel.
func Umask(t testing.TB, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}
