package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
)

// Entry is one file of the archive, by its path relative to the bundle root.
type Entry struct {
	Path string
	Size int64
	Exec bool
}

// Write writes the deterministic tar of the bundle at root to w in format
// f: every directory and file under prefix/, sorted by name, owned by 0:0
// with empty owner names, mtime epoch, modes 0755 (dirs, executables) or
// 0644. jobs is the number of compressing goroutines (tar.zst); the bytes
// do not depend on it. A file whose size is not its entry's is an error.
func Write(ctx context.Context, w io.Writer, root, prefix string, entries []Entry, f Format, epoch int64, jobs int, t progress.Task) error {
	cw, err := compressor(w, f, jobs)
	if err != nil {
		return err
	}
	// zstdframe gathers whole frames itself and reads each file straight
	// into them; the other formats get a buffer, so the 512-byte headers
	// are not one write each.
	var out io.Writer = cw
	var bw *bufio.Writer
	if f != FormatTarZst {
		bw = bufio.NewWriterSize(cw, 1<<20)
		out = bw
	}
	mtime := time.Unix(epoch, 0).UTC()

	type item struct {
		name string
		dir  bool
		e    Entry
	}
	items := []item{{name: prefix + "/", dir: true}}
	dirs := map[string]bool{}
	for _, e := range entries {
		for d := PathDir(e.Path); d != ""; d = PathDir(d) {
			if dirs[d] {
				break
			}
			dirs[d] = true
			items = append(items, item{name: prefix + "/" + d + "/", dir: true})
		}
		items = append(items, item{name: prefix + "/" + e.Path, e: e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	fail := func(err error) error {
		cw.Close()
		return err
	}
	var hdr bytes.Buffer
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		h := &tar.Header{Name: it.name, ModTime: mtime, Mode: 0o644, Typeflag: tar.TypeReg, Size: it.e.Size}
		if it.dir {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		} else if it.e.Exec {
			h.Mode = 0o755
		}
		// archive/tar encodes the header (and its PAX records, if any);
		// the content is written here, so a file's bytes go from the
		// kernel straight into zstdframe's frames.
		hdr.Reset()
		if err := tar.NewWriter(&hdr).WriteHeader(h); err != nil {
			return fail(fmt.Errorf("writing archive entry %q: %w", it.name, err))
		}
		if _, err := out.Write(hdr.Bytes()); err != nil {
			return fail(fmt.Errorf("writing archive: %w", err))
		}
		if it.dir {
			continue
		}
		src := filepath.Join(root, filepath.FromSlash(it.e.Path))
		in, err := os.Open(src)
		if err != nil {
			return fail(fmt.Errorf("reading %q: %w", src, err))
		}
		// One byte more than expected is read to notice a file that grew.
		r := io.LimitReader(progress.Reader(ctxio.Reader(ctx, in), t), it.e.Size+1)
		var n int64
		if rf, ok := out.(io.ReaderFrom); ok && bw == nil {
			n, err = rf.ReadFrom(r)
		} else {
			n, err = io.CopyBuffer(out, r, *bp)
		}
		in.Close()
		if err == nil && n != it.e.Size {
			err = fmt.Errorf("size changed to %d bytes", n)
			if n > it.e.Size {
				err = fmt.Errorf("size changed: more than %d bytes", it.e.Size)
			}
		}
		if err != nil {
			return fail(fmt.Errorf("archiving %q: %w", src, err))
		}
		if pad := (blockSize - it.e.Size%blockSize) % blockSize; pad > 0 {
			if _, err := out.Write(zeroBlocks[:pad]); err != nil {
				return fail(fmt.Errorf("writing archive: %w", err))
			}
		}
	}
	// The end of the archive: two zero blocks, as tar.Writer.Close writes.
	if _, err := out.Write(zeroBlocks[:]); err != nil {
		return fail(fmt.Errorf("writing archive: %w", err))
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			return fail(fmt.Errorf("writing archive: %w", err))
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	return nil
}

// blockSize is tar's block; zeroBlocks pads an entry to a whole block and,
// both blocks, ends the archive.
const blockSize = 512

var zeroBlocks [2 * blockSize]byte
