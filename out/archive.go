package out

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/zstdframe"
)

// Format is an archive format.
type Format string

// Archive formats.
const (
	FormatTarZst Format = "tar.zst" // default: zstd, level "default", checksummed
	FormatTarGz  Format = "tar.gz"
	FormatTar    Format = "tar"
)

// ParseFormat checks a --format value; "" means tar.zst.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatTarZst:
		return FormatTarZst, nil
	case FormatTarGz, FormatTar:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown archive format %q (want tar.zst, tar.gz or tar)", s)
}

// Formats lists the archive formats.
var Formats = []Format{FormatTarZst, FormatTarGz, FormatTar}

// compressor wraps w in the format's compression. tar.zst is written as
// independent frames of zstdframe.FrameSize input bytes, compressed on
// jobs goroutines at zstd's default level (frames that do not compress at
// the fastest): the bytes depend only on the input, never on jobs or the
// machine (TestArchiveSameBytesAcrossJobs checks this).
func compressor(w io.Writer, f Format, jobs int) (io.WriteCloser, error) {
	switch f {
	case FormatTarZst:
		return zstdframe.NewWriter(w, zstdframe.Options{Level: zstd.SpeedDefault, Workers: jobs})
	case FormatTarGz:
		// No name, no time: the gzip header is constant.
		zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return nil, err
		}
		return zw, nil
	case FormatTar:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown archive format %q", f)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// archiveEntry is one file of the archive, relative to the bundle root.
type archiveEntry struct {
	path string
	size int64
	exec bool
}

// writeArchive writes the deterministic tar of the bundle at root: every
// directory and file under prefix/, sorted by name, owned by 0:0 with empty
// owner names, mtime epoch, modes 0755 (dirs, executables) or 0644.
func writeArchive(ctx context.Context, w io.Writer, root, prefix string, entries []archiveEntry, f Format, epoch int64, jobs int, t progress.Task) error {
	cw, err := compressor(w, f, jobs)
	if err != nil {
		return err
	}
	// zstdframe gathers whole frames itself; the other formats get a
	// buffer, so tar's 512-byte headers are not one write each.
	var bw *bufio.Writer
	tw := tar.NewWriter(cw)
	if f != FormatTarZst {
		bw = bufio.NewWriterSize(cw, 1<<20)
		tw = tar.NewWriter(bw)
	}
	mtime := time.Unix(epoch, 0).UTC()

	type item struct {
		name string
		dir  bool
		e    archiveEntry
	}
	items := []item{{name: prefix + "/", dir: true}}
	dirs := map[string]bool{}
	for _, e := range entries {
		for d := pathDir(e.path); d != ""; d = pathDir(d) {
			if dirs[d] {
				break
			}
			dirs[d] = true
			items = append(items, item{name: prefix + "/" + d + "/", dir: true})
		}
		items = append(items, item{name: prefix + "/" + e.path, e: e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			cw.Close()
			return err
		}
		h := &tar.Header{Name: it.name, ModTime: mtime, Mode: 0o644, Typeflag: tar.TypeReg, Size: it.e.size}
		if it.dir {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		} else if it.e.exec {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			cw.Close()
			return fmt.Errorf("writing archive entry %q: %w", it.name, err)
		}
		if it.dir {
			continue
		}
		src := filepath.Join(root, filepath.FromSlash(it.e.path))
		in, err := os.Open(src)
		if err != nil {
			cw.Close()
			return fmt.Errorf("reading %q: %w", src, err)
		}
		n, err := io.CopyBuffer(tw, progress.Reader(ctxio.Reader(ctx, in), t), *bp)
		in.Close()
		if err == nil && n != it.e.size {
			err = fmt.Errorf("size changed to %d bytes", n)
		}
		if err != nil {
			cw.Close()
			return fmt.Errorf("archiving %q: %w", src, err)
		}
	}
	if err := tw.Close(); err != nil {
		cw.Close()
		return fmt.Errorf("writing archive: %w", err)
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			cw.Close()
			return fmt.Errorf("writing archive: %w", err)
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	return nil
}

func pathDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}
