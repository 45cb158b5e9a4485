package outfile

import (
	"crypto/sha256"
	"errors"
	"hash"
	"os"
	"syscall"
	"unsafe"

	"github.com/bdebundle/bundle/internal/osfs"
)

// Writes of at least parallelMin bytes are hashed while they are written;
// smaller ones are hashed first (handing them over costs more than it saves).
const parallelMin = 64 << 10

// WritebackChunk is how many written bytes accumulate before their
// writeback is started (buffered writes).
const WritebackChunk = 8 << 20

// directChunk is the size of each direct write.
const directChunk = 4 << 20

// Writer writes to a file, hashing what it writes. Where the file system
// takes direct I/O (Linux: ext4, XFS, btrfs...) the bytes go to the device
// in aligned chunks of 4 MiB without passing through the page cache (the
// copy into it cost more CPU than compressing incompressible data), the
// last partial chunk through the page cache at Close; elsewhere they are
// written normally and their writeback is started every WritebackChunk
// bytes. Either way the file still needs its fsync. A Writer is not safe
// for concurrent use.
type Writer struct {
	f       *os.File
	h       hash.Hash
	n       int64 // bytes accepted
	written int64 // bytes written to the file
	started int64 // bytes whose writeback was started
	direct  bool
	buf     []byte // direct I/O: aligned, holds the bytes not yet written
	todo    chan []byte
	done    chan struct{}
	closed  bool
	err     error
}

// New returns a Writer appending to f, a new empty file.
func New(f *os.File) *Writer {
	w := &Writer{f: f, h: sha256.New(), todo: make(chan []byte), done: make(chan struct{})}
	if osfs.SetDirect(f, true) == nil {
		w.direct = true
		w.buf = alignedBuffer(directChunk)
	}
	go func() {
		for p := range w.todo {
			w.h.Write(p)
			w.done <- struct{}{}
		}
		close(w.done)
	}()
	return w
}

// alignedBuffer returns an empty slice of capacity n whose first byte is
// aligned to osfs.DirectAlign.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+osfs.DirectAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % osfs.DirectAlign); r != 0 {
		off = osfs.DirectAlign - r
	}
	return b[off : off : off+n]
}

// Write writes p to the file (or keeps it for the next direct chunk) and
// adds it to the digest.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(p) >= parallelMin && !w.closed {
		w.todo <- p
		w.err = w.sink(p)
		<-w.done
	} else {
		w.h.Write(p)
		w.err = w.sink(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	w.n += int64(len(p))
	return len(p), nil
}

func (w *Writer) sink(p []byte) error {
	if !w.direct {
		return w.write(p)
	}
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.write(w.buf); err != nil {
				return err
			}
			w.buf = w.buf[:0]
		}
	}
	return nil
}

// write writes p at the end of the file. A direct write the file system
// refuses (EINVAL: no direct I/O after all, or another alignment) turns
// direct I/O off and is written again through the page cache.
func (w *Writer) write(p []byte) error {
	n, err := w.f.Write(p)
	if err != nil && w.direct && errors.Is(err, syscall.EINVAL) && n == 0 {
		w.direct = false
		if err := osfs.SetDirect(w.f, false); err != nil {
			return err
		}
		n, err = w.f.Write(p)
	}
	w.written += int64(n)
	if err != nil {
		return err
	}
	if !w.direct && w.written-w.started >= WritebackChunk {
		osfs.StartWriteback(w.f, w.started, w.written-w.started)
		w.started = w.written
	}
	return nil
}

// Size is the number of bytes written.
func (w *Writer) Size() int64 { return w.n }

// Sum is the SHA-256 of what was written.
func (w *Writer) Sum() []byte { return w.h.Sum(nil) }

// Close writes what a direct chunk still holds (through the page cache)
// and stops the hashing goroutine; the file stays open. Later writes go
// through the page cache, hashed inline.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	close(w.todo)
	<-w.done
	if w.direct {
		w.direct = false
		if w.err == nil {
			w.err = osfs.SetDirect(w.f, false)
		}
		if w.err == nil && len(w.buf) > 0 {
			w.err = w.write(w.buf)
		}
		w.buf = nil
	}
	return w.err
}
