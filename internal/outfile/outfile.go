package outfile

import (
	"crypto/sha256"
	"errors"
	"hash"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/bdebundle/bundle/internal/osfs"
)

// WritebackChunk is how many written bytes accumulate before their
// writeback is started (buffered writes).
const WritebackChunk = 8 << 20

// directChunk is the size of each chunk: each direct write, and the
// buffers the bytes are gathered in.
const directChunk = 4 << 20

// chunks is the number of chunk buffers: one being filled, one being
// hashed, one being written and one to spare, so that neither the hashing
// nor the writes wait for the other.
const chunks = 4

// Writer writes to a file, hashing what it writes. Write only copies the
// bytes into a chunk of 4 MiB; each full chunk is hashed on one goroutine
// and then written on another, so the hashing of one chunk overlaps the
// write of the one before and the caller's next bytes. Where the file
// system takes direct I/O (Linux: ext4, XFS, btrfs...) the chunks go to
// the device without passing through the page cache (the copy into it
// cost more CPU than compressing incompressible data), the last partial
// chunk through the page cache at Close; elsewhere they are written
// normally and their writeback is started every WritebackChunk bytes.
// Either way the file still needs its fsync. A Writer is not safe for
// concurrent use.
type Writer struct {
	f      *os.File
	h      hash.Hash
	n      int64  // bytes accepted
	cur    []byte // the chunk being filled
	free   chan []byte
	full   chan []byte // to the hashing goroutine
	hashed chan []byte // from it to the writing goroutine
	done   chan struct{}
	closed bool

	mu  sync.Mutex
	err error // the first write error

	// Owned by the writing goroutine until done is closed.
	written int64 // bytes written to the file
	started int64 // bytes whose writeback was started
	direct  bool
}

// New returns a Writer appending to f, a new empty file.
func New(f *os.File) *Writer {
	w := &Writer{f: f, h: sha256.New(), free: make(chan []byte, chunks), full: make(chan []byte, chunks),
		hashed: make(chan []byte, chunks), done: make(chan struct{})}
	if osfs.SetDirect(f, true) == nil {
		w.direct = true
	}
	for range chunks {
		w.free <- alignedBuffer(directChunk)
	}
	go func() {
		for p := range w.full {
			w.h.Write(p)
			w.hashed <- p
		}
		close(w.hashed)
	}()
	go func() {
		for p := range w.hashed {
			if w.getErr() == nil {
				if err := w.write(p); err != nil {
					w.setErr(err)
				}
			}
			w.free <- p[:0]
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

func (w *Writer) getErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// Write copies p into the chunk being filled, handing each full chunk on
// to be hashed and written. A write error shows in a later Write or in
// Close.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.getErr(); err != nil {
		return 0, err
	}
	if w.closed {
		// After Close: straight through the page cache, hashed here.
		if err := w.write(p); err != nil {
			w.setErr(err)
			return 0, err
		}
		w.h.Write(p)
		w.n += int64(len(p))
		return len(p), nil
	}
	n := len(p)
	for len(p) > 0 {
		if w.cur == nil {
			w.cur = <-w.free
		}
		k := copy(w.cur[len(w.cur):cap(w.cur)], p)
		w.cur = w.cur[:len(w.cur)+k]
		p = p[k:]
		if len(w.cur) == cap(w.cur) {
			w.full <- w.cur
			w.cur = nil
		}
	}
	w.n += int64(n)
	return n, nil
}

// write writes p at the end of the file. A direct write the file system
// refuses (EINVAL: no direct I/O after all, or another alignment) turns
// direct I/O off and is written again through the page cache, and so is a
// chunk whose length is not aligned (the last one).
func (w *Writer) write(p []byte) error {
	if w.direct && len(p)%osfs.DirectAlign != 0 {
		w.direct = false
		if err := osfs.SetDirect(w.f, false); err != nil {
			return err
		}
	}
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

// Close hashes and writes what the last chunk holds (through the page
// cache), waits for every chunk to be written and stops the goroutines;
// the file stays open, with direct I/O off. Later writes go straight
// through the page cache, hashed inline.
func (w *Writer) Close() error {
	if w.closed {
		return w.getErr()
	}
	w.closed = true
	if len(w.cur) > 0 {
		w.full <- w.cur
	}
	w.cur = nil
	close(w.full)
	<-w.done
	if w.direct {
		w.direct = false
		if err := osfs.SetDirect(w.f, false); err != nil {
			w.setErr(err)
		}
	}
	return w.getErr()
}
