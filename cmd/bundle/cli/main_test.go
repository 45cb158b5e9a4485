package cli

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the tests' caches out of the user's cache directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bundle-cli-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("BUNDLE_CACHE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
