//go:build !unix

package testutil

import "testing"

// Mkfifo skips the test: this system has no named pipes, so the input it
// stands for cannot occur here.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	t.Skipf("no named pipes on this system (%s)", path)
}
