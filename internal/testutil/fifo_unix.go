//go:build unix

package testutil

import (
	"syscall"
	"testing"
)

// Mkfifo makes a named pipe at path, for tests of inputs that must be
// refused rather than read (opening a FIFO for reading blocks).
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo %q: %v", path, err)
	}
}
