//go:build !unix

package testutil

import "testing"

// Umask does nothing where the system has no umask.
func Umask(testing.TB, int) {}
