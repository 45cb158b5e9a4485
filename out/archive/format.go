package archive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/internal/zstdframe"
	"github.com/bdebundle/bundle/out/volume"
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

var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	gzipMagic = []byte{0x1f, 0x8b}
)

// Sniff names the format of an archive by its first bytes (zstd's and
// gzip's magic numbers; tar's "ustar" at offset 257, so a plain tar needs
// 262 bytes of head): "" when they are none of the three.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, zstdMagic):
		return FormatTarZst
	case bytes.HasPrefix(head, gzipMagic):
		return FormatTarGz
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return FormatTar
	}
	return ""
}

// Path is where the archive of the bundle directory dir in outDir is
// written: outDir/<dir>.<format> (tar.zst when f is "").
func Path(outDir, dir string, f Format) string {
	if f == "" {
		f = FormatTarZst
	}
	return filepath.Join(outDir, dir+"."+string(f))
}

// Open returns the decompressed stream of the archive at path, detecting
// the compression from its first bytes (zstd, gzip, else a plain tar); t,
// when not nil, receives the bytes read from the file. closeFn releases it.
// Walk reads archives through it; it is exported for tests that damage a
// stream. A volume set (out/volume) is read as its archive.
func Open(path string, t progress.Task) (r io.Reader, closeFn func(), err error) {
	r, closeFn, _, err = open(context.Background(), path, t)
	return r, closeFn, err
}

// open is Open with a finish function. A volume set (its manifest, or the
// directory holding it) is read as the one stream of its volumes, each
// checked against its sha256 as it passes; finish reads what the archive's
// readers leave unread (the end of the last volume) and returns the set's
// first fault, so a damaged volume is named even where the tar stream
// ended before it. A set that is not as its manifest says is an *Error
// naming the volume.
func open(ctx context.Context, path string, t progress.Task) (r io.Reader, closeFn func(), finish func() error, err error) {
	var src io.Reader
	var f io.Closer
	finish = func() error { return nil }
	if volume.IsSet(path) {
		set, err := volume.Open(path, nil)
		if err != nil {
			if errors.Is(err, volume.ErrSet) {
				err = &Error{Archive: path, Err: err}
			}
			return nil, nil, nil, err
		}
		vr := set.Reader(ctx)
		src, f, finish = vr, vr, vr.Finish
	} else {
		fh, err := regular.Open(path)
		if err != nil {
			return nil, nil, nil, err
		}
		src, f = fh, fh
	}
	if t != nil {
		src = progress.Reader(src, t)
	}
	br := bufio.NewReaderSize(src, 1<<20)
	head, _ := br.Peek(4)
	switch Sniff(head) {
	case FormatTarZst:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("reading %q: %w", path, err)
		}
		return zr, func() { zr.Close(); f.Close() }, finish, nil
	case FormatTarGz:
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("reading %q: %w", path, err)
		}
		return zr, func() { zr.Close(); f.Close() }, finish, nil
	}
	return br, func() { f.Close() }, finish, nil
}
