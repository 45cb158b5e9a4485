package osfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestID(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Link(a, link); err != nil {
		t.Fatal(err)
	}
	id := func(p string) (FileID, bool) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return ID(fi)
	}
	ia, ok := id(a)
	if runtime.GOOS == "windows" {
		if ok {
			t.Error("ID reported an identity on Windows")
		}
		return
	}
	if !ok {
		t.Fatal("no file identity on", runtime.GOOS)
	}
	if il, _ := id(link); il != ia {
		t.Errorf("a hard link has ID %v, the file %v", il, ia)
	}
	if ib, _ := id(b); ib == ia {
		t.Errorf("two files share ID %v", ia)
	}
}

func TestChangeTime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	ct := ChangeTime(fi)
	if runtime.GOOS == "windows" {
		if !ct.Equal(fi.ModTime()) {
			t.Errorf("ChangeTime %v, want the mtime %v on Windows", ct, fi.ModTime())
		}
		return
	}
	// Setting the mtime back moves the change time to now.
	if !ct.After(old.Add(time.Hour)) {
		t.Errorf("ChangeTime %v follows the reset mtime %v", ct, old)
	}
}

func TestFreeBytes(t *testing.T) {
	n, err := FreeBytes(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 {
		t.Errorf("FreeBytes = %d on a writable temp dir", n)
	}
	if _, err := FreeBytes(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("FreeBytes of a missing directory succeeded")
	}
}

func TestClone(t *testing.T) {
	dir := t.TempDir()
	src, err := os.Create(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.WriteString("cloned content"); err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	err = Clone(dst, src)
	if err != nil {
		// Most file systems (ext4, tmpfs, APFS through this call) cannot:
		// the file must then still be empty so the caller can copy.
		if fi, _ := dst.Stat(); fi.Size() != 0 {
			t.Errorf("failed clone (%v) left %d bytes", err, fi.Size())
		}
		if runtime.GOOS != "linux" && !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Clone on %s = %v, want ErrUnsupported", runtime.GOOS, err)
		}
		return
	}
	b, err := io.ReadAll(io.NewSectionReader(dst, 0, 1<<20))
	if err != nil || string(b) != "cloned content" {
		t.Errorf("clone holds %q, %v", b, err)
	}
}
