package outfile

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestSumAndContent: whatever the sizes of the writes (small ones, around
// the chunk size, across writeback chunks, after Close), the file holds
// what was written and Sum is its SHA-256.
func TestSumAndContent(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{3}))
	data := make([]byte, 3*WritebackChunk+12345)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, chunk := range []int{1000, 64<<10 - 1, 64 << 10, directChunk - 1, directChunk, directChunk + 1, len(data)} {
		p := filepath.Join(t.TempDir(), "a")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := New(f)
		rest := data
		for len(rest) > 0 {
			n := min(chunk, len(rest))
			if len(rest) < len(data)/4 {
				w.Close() // the tail is written after Close
			}
			if k, err := w.Write(rest[:n]); err != nil || k != n {
				t.Fatalf("write of %d: %d, %v", n, k, err)
			}
			rest = rest[n:]
		}
		w.Close()
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(data)
		if !bytes.Equal(got, data) || !bytes.Equal(w.Sum(), want[:]) || w.Size() != int64(len(data)) {
			t.Errorf("writes of %d: file %d bytes (equal %v), size %d, sum %x, want %x", chunk, len(got), bytes.Equal(got, data), w.Size(), w.Sum(), want)
		}
	}
}

// TestWriteErrorIsReturned: a write the file refuses is an error, from
// Write or (for bytes a direct chunk held) from Close, and the hashing
// goroutine does not hang.
func TestWriteErrorIsReturned(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p) // read-only
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f)
	var werr error
	for _, n := range []int{10, 1 << 20, 5 << 20} {
		if _, err := w.Write(make([]byte, n)); err != nil && werr == nil {
			werr = err
		}
	}
	if cerr := w.Close(); werr == nil && cerr == nil {
		t.Error("writes to a read-only file succeeded")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("a write after the error succeeded")
	}
}

// TestDirectWhereTheFileSystemHasIt reports which path the test's file
// system takes and checks both write the same file: direct I/O (on Linux
// file systems that have it) and the page cache (tmpfs, when /dev/shm is
// one, refuses O_DIRECT or its writes).
func TestDirectWhereTheFileSystemHasIt(t *testing.T) {
	dirs := []string{t.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "outfile-")
		if err == nil {
			defer os.RemoveAll(d)
			dirs = append(dirs, d)
		}
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), (directChunk+directChunk/3)/16)
	for _, dir := range dirs {
		f, err := os.Create(filepath.Join(dir, "a"))
		if err != nil {
			t.Fatal(err)
		}
		w := New(f)
		direct := w.direct
		for off := 0; off < len(data); off += 100_000 {
			if _, err := w.Write(data[off:min(off+100_000, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, err := os.ReadFile(f.Name())
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: read back %d bytes of %d (%v)", dir, len(got), len(data), err)
		}
		t.Logf("%s: direct I/O %v", dir, direct)
	}
}
