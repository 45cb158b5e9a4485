package read

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
)

var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	gzipMagic = []byte{0x1f, 0x8b}
)

// openStream returns the decompressed stream of the archive at path,
// detecting the compression from its first bytes; t, when not nil, receives
// the bytes read from the file. close releases it.
func openStream(path string, t progress.Task) (r io.Reader, closeFn func(), err error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, nil, err
	}
	var src io.Reader = f
	if t != nil {
		src = progress.Reader(f, t)
	}
	br := bufio.NewReaderSize(src, 1<<20)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("reading %q: %w", path, err)
		}
		return zr, func() { zr.Close(); f.Close() }, nil
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("reading %q: %w", path, err)
		}
		return zr, func() { zr.Close(); f.Close() }, nil
	}
	return br, func() { f.Close() }, nil
}

// isArchive reports whether path is a regular file (an archive) rather than
// a bundle directory.
func isArchive(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return !fi.IsDir(), nil
}

// ArchiveError is a fault of an archive's content: an entry refused as
// unsafe, a damaged or truncated stream, or entries that contradict each
// other. Failures of the local file system are not ArchiveErrors.
type ArchiveError struct {
	Archive string // path of the archive
	Entry   string // entry name as stored, "" for the archive as a whole
	Refused bool   // the entry is unsafe (see safeEntry)
	Err     error
}

func (e *ArchiveError) Error() string {
	switch {
	case e.Refused:
		return fmt.Sprintf("archive %q: refused archive entry: %v", e.Archive, e.Err)
	case e.Entry != "":
		return fmt.Sprintf("archive %q: entry %q: %v", e.Archive, e.Entry, e.Err)
	}
	return fmt.Sprintf("reading archive %q: %v", e.Archive, e.Err)
}

func (e *ArchiveError) Unwrap() error { return e.Err }

// walkArchive streams the archive at p. Every entry is checked with
// safeEntry and against the bounds of bundle.json (see bounds) before visit
// sees it; visit gets the entry's path below the top directory ("" for the
// top directory itself) and, for files, a reader of its content. The walk
// stops with an *ArchiveError at the first unsafe or unbounded entry or
// damaged header, with the error of visit when it returns one, and with
// ctx's error when ctx is done. It returns the top directory's name ("" for
// an archive without entries). t, when not nil, receives the bytes read
// from the archive file.
func walkArchive(ctx context.Context, p string, t progress.Task, visit func(h *tar.Header, rel string, r io.Reader) error) (prefix string, err error) {
	r, closeFn, err := openStream(p, t)
	if err != nil {
		return "", fmt.Errorf("reading bundle %q: %w", p, err)
	}
	defer closeFn()
	b := newBounds(r)
	tr := tar.NewReader(b)
	refused := func(h *tar.Header, err error) error {
		var ae *ArchiveError
		if errors.As(err, &ae) {
			ae.Archive = p
			return ae
		}
		return &ArchiveError{Archive: p, Entry: h.Name, Refused: true, Err: err}
	}
	for {
		if err := ctx.Err(); err != nil {
			return prefix, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return prefix, nil
		}
		if err != nil {
			return prefix, &ArchiveError{Archive: p, Refused: errors.Is(err, errExpands), Err: err}
		}
		rel, err := safeEntry(h, &prefix)
		if err != nil {
			return prefix, refused(h, err)
		}
		if err := b.admit(h, rel); err != nil {
			return prefix, refused(h, err)
		}
		var data io.Reader = tr
		if h.Typeflag == tar.TypeReg && rel == manifest.FileName && !b.manifestSeen {
			// Read here: its sizes bound the rest of the stream.
			buf, err := io.ReadAll(tr)
			if err != nil {
				return prefix, &ArchiveError{Archive: p, Entry: h.Name, Err: err}
			}
			m, _ := manifest.Parse(buf) // a bad one is the readers' to report
			if err := b.setManifest(m); err != nil {
				return prefix, refused(h, err)
			}
			data = bytes.NewReader(buf)
		}
		if err := visit(h, rel, data); err != nil {
			if errors.Is(err, errExpands) && b.err != nil {
				return prefix, &ArchiveError{Archive: p, Entry: h.Name, Refused: true, Err: fmt.Errorf("%q: %w", h.Name, b.err)}
			}
			return prefix, err
		}
	}
}

// WalkArchiveFiles streams the regular files of the bundle archive at p,
// calling visit with each file's path below the top directory, its size and
// its content. Entries are checked as Verify checks them; an unsafe entry
// or a damaged stream stops the walk with an *ArchiveError.
func WalkArchiveFiles(ctx context.Context, p string, visit func(rel string, size int64, r io.Reader) error) error {
	_, err := walkArchive(ctx, p, nil, func(h *tar.Header, rel string, r io.Reader) error {
		if h.Typeflag != tar.TypeReg || rel == "" {
			return nil
		}
		return visit(rel, h.Size, r)
	})
	return err
}

func pathDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}
