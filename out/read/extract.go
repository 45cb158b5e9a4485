package read

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// Progress receives the bytes read from the archive file.
	Progress progress.Reporter
}

// Extract unpacks the bundle archive (.tar.zst, .tar.gz or .tar, detected
// from its first bytes) into destDir/<name>-<version> and returns that
// path. The archive is read as a stream. Every entry is checked before
// anything is written for it, and the first unsafe one stops the extraction
// (the entries Verify refuses: links, devices, absolute paths, "..", and
// anything outside the <name>-<version>/ top directory), so nothing is ever
// written outside destDir. Files get mode 0755 when executable in the
// archive and 0644 otherwise, directories 0755; times come from the
// archive. The bundle is written into a hidden temporary directory inside
// destDir and renamed into place at the end; on any error that directory is
// removed and nothing is left. An existing destDir/<name>-<version> is never
// replaced.
//
// Extract checks that the archive holds a bundle.json naming the top
// directory, but not the files' hashes: run Verify on the result.
// Faults of the archive's content are *ArchiveError; other errors come from
// the local file system or ctx.
func Extract(ctx context.Context, archive, destDir string, opts ExtractOptions) (string, error) {
	fi, err := os.Stat(archive)
	if err != nil {
		return "", fmt.Errorf("reading bundle %q: %w", archive, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("reading bundle %q: a directory, not an archive", archive)
	}
	tmp, err := os.MkdirTemp(destDir, ".bundle-extract-")
	if err != nil {
		return "", fmt.Errorf("extracting %q: %w", archive, err)
	}
	task := progress.Or(opts.Progress).Start("extracting "+filepath.Base(archive), fi.Size())
	dest, err := extractInto(ctx, archive, destDir, tmp, task)
	if err != nil {
		task.Done(err)
		if rerr := os.RemoveAll(tmp); rerr != nil {
			return "", errors.Join(err, fmt.Errorf("removing %q: %w", tmp, rerr))
		}
		return "", err
	}
	task.Done(nil)
	return dest, nil
}

func extractInto(ctx context.Context, archive, destDir, tmp string, task progress.Task) (string, error) {
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("extracting %q: %w", archive, err)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	entryErr := func(h *tar.Header, err error) error {
		return &ArchiveError{Archive: archive, Entry: h.Name, Err: err}
	}
	prefix, err := walkArchive(ctx, archive, task, func(h *tar.Header, rel string, r io.Reader) error {
		if rel == "" {
			return nil // the top directory: tmp stands for it
		}
		target := filepath.Join(tmp, filepath.FromSlash(rel))
		if h.Typeflag == tar.TypeDir {
			err := mkdirs(tmp, rel)
			if isConflict(err) {
				return entryErr(h, errors.New("a directory where the archive already has a file"))
			}
			if err != nil {
				return fmt.Errorf("extracting %q: %w", archive, err)
			}
			return nil
		}
		err := mkdirs(tmp, pathDir(rel))
		if isConflict(err) {
			return entryErr(h, errors.New("its directory is a file earlier in the archive"))
		}
		if err != nil {
			return fmt.Errorf("extracting %q: %w", archive, err)
		}
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if isConflict(err) {
			return entryErr(h, errors.New("appears twice in the archive"))
		}
		if err != nil {
			return fmt.Errorf("extracting %q: %w", archive, err)
		}
		src := &errReader{r: ctxio.Reader(ctx, r)}
		_, err = io.CopyBuffer(f, src, *bp)
		if err == nil {
			err = f.Chmod(mode) // exact, whatever the umask
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		switch {
		case src.err != nil && ctx.Err() != nil:
			return ctx.Err()
		case src.err != nil:
			return entryErr(h, src.err)
		case err != nil:
			return fmt.Errorf("writing %q: %w", target, err)
		}
		if err := os.Chtimes(target, h.ModTime, h.ModTime); err != nil {
			return fmt.Errorf("writing %q: %w", target, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if prefix == "" {
		return "", &ArchiveError{Archive: archive, Err: errors.New("the archive is empty")}
	}
	data, err := readSmall(filepath.Join(tmp, manifest.FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return "", &ArchiveError{Archive: archive, Err: fmt.Errorf("no %s in %s/", manifest.FileName, prefix)}
	}
	if err != nil {
		return "", err
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return "", &ArchiveError{Archive: archive, Entry: prefix + "/" + manifest.FileName, Err: err}
	}
	if m.Dir() != prefix {
		return "", &ArchiveError{Archive: archive, Err: fmt.Errorf("the top directory is %q but %s names %q", prefix, manifest.FileName, m.Dir())}
	}
	if err := atomicfs.SyncTree(tmp); err != nil {
		return "", err
	}
	dest := filepath.Join(destDir, prefix)
	if err := atomicfs.RenameNoReplace(tmp, dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%q already exists", dest)
		}
		return "", fmt.Errorf("extracting %q: %w", archive, err)
	}
	if err := atomicfs.SyncDir(destDir); err != nil {
		if rerr := os.RemoveAll(dest); rerr != nil {
			return "", errors.Join(err, fmt.Errorf("removing %q: %w", dest, rerr))
		}
		return "", err
	}
	return dest, nil
}

// mkdirs creates the directories of the "/"-separated path rel below root
// with mode 0755 whatever the umask. A file in the way is an error that
// isConflict recognises.
func mkdirs(root, rel string) error {
	if rel == "" {
		return nil
	}
	p := root
	for _, seg := range strings.Split(rel, "/") {
		p = filepath.Join(p, seg)
		err := os.Mkdir(p, 0o755)
		if errors.Is(err, fs.ErrExist) {
			fi, lerr := os.Lstat(p)
			if lerr != nil {
				return lerr
			}
			if !fi.IsDir() {
				return &fs.PathError{Op: "mkdir", Path: p, Err: syscall.ENOTDIR}
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// isConflict reports whether err says a path is taken by another entry.
func isConflict(err error) bool {
	return errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR)
}

// errReader remembers the first read error, to tell a damaged archive from
// a failing disk.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
