package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/volume"
)

// IsArchive reports whether path is a regular file (an archive) or a
// volume set (out/volume) rather than a bundle directory.
func IsArchive(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return !fi.IsDir() || volume.IsSet(path), nil
}

// Error is a fault of an archive's content: an entry refused as
// unsafe, a damaged or truncated stream, or entries that contradict each
// other. Failures of the local file system are not Errors.
type Error struct {
	Archive string // path of the archive
	Entry   string // entry name as stored, "" for the archive as a whole
	Refused bool   // the entry is unsafe (see safeEntry)
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Refused:
		return fmt.Sprintf("archive %q: refused archive entry: %v", e.Archive, e.Err)
	case e.Entry != "":
		return fmt.Sprintf("archive %q: entry %q: %v", e.Archive, e.Entry, e.Err)
	}
	return fmt.Sprintf("reading archive %q: %v", e.Archive, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Walk streams the archive at p. Every entry is checked with
// safeEntry and against the bounds of bundle.json (see bounds) before visit
// sees it; visit gets the entry's path below the top directory ("" for the
// top directory itself) and, for files, a reader of its content. The walk
// stops with an *Error at the first unsafe or unbounded entry or
// damaged header, with the error of visit when it returns one, and with
// ctx's error when ctx is done. It returns the top directory's name ("" for
// an archive without entries). t, when not nil, receives the bytes read
// from the archive file.
func Walk(ctx context.Context, p string, t progress.Task, visit func(h *tar.Header, rel string, r io.Reader) error) (prefix string, err error) {
	r, closeFn, finish, err := open(ctx, p, t)
	if err != nil {
		return "", fmt.Errorf("reading bundle %q: %w", p, err)
	}
	defer closeFn()
	defer func() {
		// A volume set's fault explains whatever stopped the walk (a
		// flipped byte shows first as a bad tar header or CRC): the rest
		// of the set is read, and the volume at fault named.
		if err != nil && ctx.Err() == nil {
			if ferr := finish(); ferr != nil {
				err = &Error{Archive: p, Err: ferr}
			}
		}
	}()
	b := newBounds(r)
	tr := tar.NewReader(b)
	refused := func(h *tar.Header, err error) error {
		var ae *Error
		if errors.As(err, &ae) {
			ae.Archive = p
			return ae
		}
		return &Error{Archive: p, Entry: h.Name, Refused: true, Err: err}
	}
	for {
		if err := ctx.Err(); err != nil {
			return prefix, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			if err := finish(); err != nil {
				return prefix, &Error{Archive: p, Err: err}
			}
			return prefix, nil
		}
		if err != nil {
			return prefix, &Error{Archive: p, Refused: errors.Is(err, errExpands), Err: err}
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
				return prefix, &Error{Archive: p, Entry: h.Name, Err: err}
			}
			m, _ := manifest.Parse(buf) // a bad one is the readers' to report
			if err := b.setManifest(m); err != nil {
				return prefix, refused(h, err)
			}
			data = bytes.NewReader(buf)
		}
		if err := visit(h, rel, data); err != nil {
			if errors.Is(err, errExpands) && b.err != nil {
				return prefix, &Error{Archive: p, Entry: h.Name, Refused: true, Err: fmt.Errorf("%q: %w", h.Name, b.err)}
			}
			return prefix, err
		}
	}
}

// WalkFiles streams the regular files of the bundle archive at p,
// calling visit with each file's path below the top directory, its size and
// its content. Entries are checked as Verify checks them; an unsafe entry
// or a damaged stream stops the walk with an *Error.
func WalkFiles(ctx context.Context, p string, visit func(rel string, size int64, r io.Reader) error) error {
	_, err := Walk(ctx, p, nil, func(h *tar.Header, rel string, r io.Reader) error {
		if h.Typeflag != tar.TypeReg || rel == "" {
			return nil
		}
		return visit(rel, h.Size, r)
	})
	return err
}

// PathDir is the directory of the slash-separated path p, "" at the top.
func PathDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// bufPool holds the copy buffers of Write.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// safeEntry checks one archive entry and returns its path below the
// bundle's top directory ("" for the top directory itself): no absolute or
// unclean path, no "..", no backslash, no link, device or sparse file, no
// file at the top, one top directory (*prefix, set by the first entry).
func safeEntry(h *tar.Header, prefix *string) (string, error) {
	name := h.Name
	switch {
	case name == "":
		return "", errors.New("empty entry name")
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("absolute path %q", name)
	case strings.Contains(name, "\\"):
		return "", fmt.Errorf("backslash in %q", name)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == ".." {
			return "", fmt.Errorf("path %q leaves the archive (..)", name)
		}
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			// A sparse entry's holes would be read as data: a small
			// archive could make verify hash terabytes of zeros.
			return "", fmt.Errorf("%q is a sparse file (%s); bundles hold no sparse entries", name, k)
		}
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink, tar.TypeLink:
		return "", fmt.Errorf("%q is a link to %q; bundles hold no links", name, h.Linkname)
	default:
		return "", fmt.Errorf("%q has entry type %q; bundles hold only files and directories", name, string(h.Typeflag))
	}
	clean := strings.TrimSuffix(name, "/")
	if path.Clean(clean) != clean || clean == "." {
		return "", fmt.Errorf("path %q is not clean", name)
	}
	top, rest, _ := strings.Cut(clean, "/")
	if *prefix == "" {
		*prefix = top
	}
	if top != *prefix {
		return "", fmt.Errorf("%q lies outside the bundle directory %s/", name, *prefix)
	}
	if h.Typeflag == tar.TypeReg && rest == "" {
		return "", fmt.Errorf("%q is a file at the top of the archive, outside %s/", name, *prefix)
	}
	return rest, nil
}
