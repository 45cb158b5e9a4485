package testutil

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// CopyFiles copies each of files into dir (created if missing) under its
// base name, mode 0644, and returns the copies' paths in the same order.
func CopyFiles(t testing.TB, dir string, files ...string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for _, f := range files {
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(f))
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			in.Close()
			t.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("copying %q: %v", f, err)
		}
		dsts = append(dsts, dst)
	}
	return dsts
}
