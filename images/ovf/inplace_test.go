package ovf_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bdebundle/bundle/images/ovf"
)

// TestWriteInPlace writes into a directory that already holds the template's
// disk (as builder.Build places it): the disk file stays the same file, nothing
// is staged beside the directory, and the result equals a staged write.
func TestWriteInPlace(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	disk := demoDisk(t, src, "a.vmdk", 64)
	base := ovf.Template{Name: "node", CPUs: 1, MemoryMB: 1024, Disks: []ovf.Disk{{Path: disk}}}
	derived, err := base.Derive("node-c-g", nil)
	if err != nil {
		t.Fatal(err)
	}

	staged := filepath.Join(t.TempDir(), "node")
	if _, err := ovf.Write(ctx, staged, base, ovf.Options{Derived: []ovf.Template{derived}}); err != nil {
		t.Fatal(err)
	}

	parent := t.TempDir()
	dir := filepath.Join(parent, "node")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	placed := filepath.Join(dir, ovf.DiskFileName("node", 0))
	data, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(placed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(placed)
	if err != nil {
		t.Fatal(err)
	}
	inPlace := base
	inPlace.Disks = []ovf.Disk{{Path: placed}}
	inPlaceDerived := derived
	inPlaceDerived.Disks = inPlace.Disks
	if _, err := ovf.Write(ctx, dir, inPlace, ovf.Options{InPlace: true, Derived: []ovf.Template{inPlaceDerived}}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(placed)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the placed disk was replaced instead of written in place")
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("something was staged beside the directory: %v", entries)
	}
	for _, name := range []string{"node.ovf", "node.mf", "node-c-g.ovf", "node-c-g.mf", ovf.DiskFileName("node", 0)} {
		a, err := os.ReadFile(filepath.Join(staged, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the staged and the in-place write", name)
		}
	}
}
