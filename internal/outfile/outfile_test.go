package outfile

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestSumAndContent: whatever the sizes of the writes (below and above the
// parallel threshold, across writeback chunks, after Close), the file holds
// what was written and Sum is its SHA-256.
func TestSumAndContent(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{3}))
	data := make([]byte, 3*WritebackChunk+12345)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, chunk := range []int{1000, parallelMin - 1, parallelMin, 4 << 20, len(data)} {
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

// TestWriteErrorIsReturned: a write the file refuses is an error, and the
// hashing goroutine does not hang.
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
	for _, n := range []int{10, 1 << 20} {
		if _, err := w.Write(make([]byte, n)); err == nil {
			t.Errorf("write of %d to a read-only file succeeded", n)
		}
	}
	w.Close()
}
