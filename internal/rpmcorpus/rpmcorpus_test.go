package rpmcorpus

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The corpus is the same whatever the worker count.
func TestGenerateReproducible(t *testing.T) {
	a, err := Generate(filepath.Join(t.TempDir(), "a"), Options{Packages: 12, Large: 1, LargeMiB: 1, Mixed: true, Seed: 3, Workers: 1, Compressor: "gzip:1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(filepath.Join(t.TempDir(), "b"), Options{Packages: 12, Large: 1, LargeMiB: 1, Mixed: true, Seed: 3, Workers: 4, Compressor: "gzip:1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 13 || len(b) != 13 {
		t.Fatalf("%d and %d packages, want 13", len(a), len(b))
	}
	for i := range a {
		x, _ := os.ReadFile(a[i])
		y, _ := os.ReadFile(b[i])
		if filepath.Base(a[i]) != filepath.Base(b[i]) || !bytes.Equal(x, y) {
			t.Errorf("%s and %s differ", a[i], b[i])
		}
	}
}
