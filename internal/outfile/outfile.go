package outfile

import (
	"crypto/sha256"
	"hash"
	"os"

	"github.com/bdebundle/bundle/internal/osfs"
)

// Writes of at least parallelMin bytes are hashed while they are written;
// smaller ones are hashed first (handing them over costs more than it saves).
const parallelMin = 64 << 10

// WritebackChunk is how many written bytes accumulate before their
// writeback is started.
const WritebackChunk = 8 << 20

// Writer writes to a file, hashing what it writes. It is not safe for
// concurrent use; Close stops its hashing goroutine (the file stays open).
type Writer struct {
	f       *os.File
	h       hash.Hash
	n       int64 // bytes written
	started int64 // bytes whose writeback was started
	todo    chan []byte
	done    chan struct{}
	closed  bool
}

// New returns a Writer appending to f, which is positioned at offset 0.
func New(f *os.File) *Writer {
	w := &Writer{f: f, h: sha256.New(), todo: make(chan []byte), done: make(chan struct{})}
	go func() {
		for p := range w.todo {
			w.h.Write(p)
			w.done <- struct{}{}
		}
		close(w.done)
	}()
	return w
}

// Write writes p to the file and adds it to the digest.
func (w *Writer) Write(p []byte) (int, error) {
	var n int
	var err error
	if len(p) >= parallelMin && !w.closed {
		w.todo <- p
		n, err = w.f.Write(p)
		<-w.done
	} else {
		w.h.Write(p)
		n, err = w.f.Write(p)
	}
	w.n += int64(n)
	if w.n-w.started >= WritebackChunk {
		osfs.StartWriteback(w.f, w.started, w.n-w.started)
		w.started = w.n
	}
	return n, err
}

// Size is the number of bytes written.
func (w *Writer) Size() int64 { return w.n }

// Sum is the SHA-256 of what was written.
func (w *Writer) Sum() []byte { return w.h.Sum(nil) }

// Close stops the hashing goroutine; later writes are hashed inline.
func (w *Writer) Close() error {
	if !w.closed {
		w.closed = true
		close(w.todo)
		<-w.done
	}
	return nil
}
