package repo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/bdebundle/bundle/repo/rpm"
)

// spill keeps the metadata of a repository being indexed on disk instead of
// in memory: each package's primary, filelists and other elements are
// rendered as soon as it is read and appended to one temporary file, and
// only their place in that file is remembered. Writing the repodata then
// reads the elements back in repository order, so memory stays flat in the
// number of packages.
type spill struct {
	path string
	f    *os.File
	mu   sync.Mutex
	w    *bufio.Writer
	off  int64
	werr error
	// recs[i] is the i-th package in repository order.
	recs []spillRec
}

// spillRec locates one package's elements in the spill file: the primary
// element occupies [off, off+prim) with the <time file> value to be
// inserted after its first split bytes, filelists the next files bytes,
// other the next other bytes.
type spillRec struct {
	off                     int64
	split, prim, files, oth uint32
	size, buildTime         int64
	set                     bool
}

// maxElement bounds one rendered element (the spill records sizes as
// uint32); rpm itself limits a header to 256 MiB of data.
const maxElement = 1 << 31

var spillBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func newSpill(dir string, n int) (*spill, error) {
	path := filepath.Join(dir, ".metadata.spill")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing %q: %w", path, err)
	}
	return &spill{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10), recs: make([]spillRec, n)}, nil
}

// putPrimary renders only p's primary element into the spill file (the
// other two are written while the scan runs) and returns its record. It may
// be called from several goroutines at once.
func (s *spill) putPrimary(p *rpm.Package) (spillRec, error) {
	bp := spillBufPool.Get().(*[]byte)
	defer spillBufPool.Put(bp)
	b := appendPrimaryHead((*bp)[:0], p)
	split := len(b)
	b = appendPrimaryTail(b, p)
	*bp = b
	if len(b) >= maxElement {
		return spillRec{}, fmt.Errorf("reading %q: metadata of %d bytes is too large", p.Location, len(b))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	off, err := s.write(b)
	if err != nil {
		return spillRec{}, err
	}
	return spillRec{off: off, split: uint32(split), prim: uint32(len(b)), size: p.Size, buildTime: p.BuildTime, set: true}, nil
}

// putRaw appends elements already rendered (those of old repodata that
// --update reuses): primary's without its <time file> value, which belongs
// after its first split bytes.
func (s *spill) putRaw(prim []byte, split int, files, oth []byte, size, buildTime int64) (spillRec, error) {
	if int64(len(prim))+int64(len(files))+int64(len(oth)) >= maxElement {
		return spillRec{}, fmt.Errorf("writing %q: metadata of %d bytes is too large", s.path, len(prim)+len(files)+len(oth))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	off, err := s.write(prim)
	if err == nil {
		_, err = s.write(files)
	}
	if err == nil {
		_, err = s.write(oth)
	}
	if err != nil {
		return spillRec{}, err
	}
	return spillRec{off: off, split: uint32(split), prim: uint32(len(prim)), files: uint32(len(files)), oth: uint32(len(oth)),
		size: size, buildTime: buildTime, set: true}, nil
}

// write appends b to the spill file and returns its offset; s.mu is held.
func (s *spill) write(b []byte) (int64, error) {
	if s.werr != nil {
		return 0, s.werr
	}
	off := s.off
	if _, err := s.w.Write(b); err != nil {
		s.werr = fmt.Errorf("writing %q: %w", s.path, err)
		return 0, s.werr
	}
	s.off += int64(len(b))
	return off, nil
}

// finish flushes the spill file so that it can be read back.
func (s *spill) finish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.werr != nil {
		return s.werr
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing %q: %w", s.path, err)
	}
	return nil
}

// close removes the spill file.
func (s *spill) close() {
	s.f.Close()
	os.Remove(s.path)
}

func (s *spill) read(b []byte, off int64, n uint32) ([]byte, error) {
	start := len(b)
	b = slices.Grow(b, int(n))[:start+int(n)]
	if _, err := s.f.ReadAt(b[start:], off); err != nil {
		return nil, fmt.Errorf("reading %q: %w", s.path, err)
	}
	return b, nil
}

// fragments reads the elements back, in repository order; fileTime is
// written as every <time file>.
func (s *spill) fragments(fileTime int64) fragments {
	ts := strconv.FormatInt(fileTime, 10)
	frag := func(elem func(b []byte, r spillRec) ([]byte, error)) elemWriter {
		var buf []byte
		return func(w *bufio.Writer, i int) error {
			b, err := elem(buf[:0], s.recs[i])
			if err != nil {
				return err
			}
			buf = b
			_, err = w.Write(b)
			return err
		}
	}
	return fragments{
		primary: frag(func(b []byte, r spillRec) ([]byte, error) {
			b, err := s.read(b, r.off, r.split)
			if err != nil {
				return nil, err
			}
			b = append(b, ts...)
			return s.read(b, r.off+int64(r.split), r.prim-r.split)
		}),
		filelists: frag(func(b []byte, r spillRec) ([]byte, error) {
			return s.read(b, r.off+int64(r.prim), r.files)
		}),
		other: frag(func(b []byte, r spillRec) ([]byte, error) {
			return s.read(b, r.off+int64(r.prim)+int64(r.files), r.oth)
		}),
	}
}
