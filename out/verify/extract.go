package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/volume"
	"github.com/bdebundle/bundle/sbom"
)

// Extract unpacks the bundle archive src (.tar.zst, .tar.gz or .tar, detected
// from its first bytes) into destDir/<name>-<version>, verifying it in the
// same pass, and returns that path with the Report. The archive is read
// once, as a stream. Every entry is checked before anything is written for
// it, and the first unsafe one stops the extraction (the entries Verify
// refuses: links, devices, absolute paths, "..", anything outside the
// <name>-<version>/ top directory, entries bundle.json does not list or
// whose size it contradicts), so nothing is ever written outside destDir.
// Each file is hashed as it is written; at the end the bundle is checked as
// Verify checks an archive (every file's size, sha256 and mode against
// bundle.json, no missing or extra files, SHA256SUMS, the SBOM, the
// signature when opts.Key is set), then opts' deep checks run over the
// extracted tree. Files get mode 0755 when executable in the archive and
// 0644 otherwise, directories 0755; times come from the archive.
//
// The bundle is written into a hidden temporary directory inside destDir
// and renamed into place only when it verifies; on any error or problem
// that directory is removed and nothing is left: a bundle with problems
// returns "" and the Report. An existing destDir/<name>-<version> is never
// replaced. Faults of the archive's content are *archive.Error; other errors
// come from the local file system or ctx. opts.Progress receives the bytes
// read from the archive file.
func Extract(ctx context.Context, src, destDir string, opts Options) (string, *Report, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", nil, fmt.Errorf("reading bundle %q: %w", src, err)
	}
	size := fi.Size()
	var set *volume.Set
	if volume.IsSet(src) {
		rep := &Report{Path: src, Kind: "volumes", DeepRun: []string{}, Problems: []Problem{}}
		if set = openVolumes(src, opts.Key, rep); set == nil {
			return "", rep, nil
		}
		size = set.Manifest.ArchiveSize
	} else if fi.IsDir() {
		return "", nil, fmt.Errorf("reading bundle %q: a directory, not an archive", src)
	}
	tmp, err := os.MkdirTemp(destDir, ".bundle-extract-")
	if err != nil {
		return "", nil, fmt.Errorf("extracting %q: %w", src, err)
	}
	task := progress.Or(opts.Progress).Start("extracting "+filepath.Base(src), size)
	dest, rep, err := extractInto(ctx, src, destDir, tmp, task, opts, set)
	if err != nil || dest == "" {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			return "", rep, errors.Join(err, fmt.Errorf("removing %q: %w", tmp, rerr))
		}
		return "", rep, err
	}
	return dest, rep, nil
}

// extractInto writes the archive's bundle into tmp while collecting what
// Verify reads, checks it, and renames tmp to destDir/<name>-<version>
// when it verifies. It returns "" and the report when it does not. task,
// the reading of the archive, is done when the stream ends (before the
// deep checks, which are tasks of their own).
func extractInto(ctx context.Context, src, destDir, tmp string, task progress.Task, opts Options, set *volume.Set) (string, *Report, error) {
	if err := os.Chmod(tmp, 0o755); err != nil {
		err = fmt.Errorf("extracting %q: %w", src, err)
		task.Done(err)
		return "", nil, err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	entryErr := func(h *tar.Header, err error) error {
		return &archive.Error{Archive: src, Entry: h.Name, Err: err}
	}
	c := &contents{files: map[string]seen{}}
	prefix, err := archive.Walk(ctx, src, task, func(h *tar.Header, rel string, r io.Reader) error {
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
				return fmt.Errorf("extracting %q: %w", src, err)
			}
			return nil
		}
		err := mkdirs(tmp, archive.PathDir(rel))
		if isConflict(err) {
			return entryErr(h, errors.New("its directory is a file earlier in the archive"))
		}
		if err != nil {
			return fmt.Errorf("extracting %q: %w", src, err)
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
			return fmt.Errorf("extracting %q: %w", src, err)
		}
		// What Verify reads of the entry: metadata in full (the bounds
		// keep it within manifest.MaxMetaSize), the SBOM's content, and
		// every other file's digest.
		meta := manifest.IsMetaFile(rel)
		keepSBOM := rel == sbom.FileName && h.Size <= manifest.MaxMetaSize
		hs := sha256.New()
		var keep bytes.Buffer
		var w io.Writer = f
		switch {
		case meta:
			w = io.MultiWriter(f, &keep)
		case keepSBOM:
			w = io.MultiWriter(f, hs, &keep)
		default:
			w = io.MultiWriter(f, hs)
		}
		src := &errReader{r: ctxio.Reader(ctx, r)}
		n, err := io.CopyBuffer(w, src, *bp)
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
		if meta {
			c.setMeta(rel, keep.Bytes())
			return nil
		}
		if keepSBOM {
			c.sbom, c.hasSBOM = keep.Bytes(), true
		}
		c.files[rel] = seen{size: n, sha: hex.EncodeToString(hs.Sum(nil)), exec: mode&0o111 != 0}
		return nil
	})
	task.Done(err)
	if err != nil {
		return "", nil, err
	}
	if prefix == "" {
		return "", nil, &archive.Error{Archive: src, Err: errors.New("the archive is empty")}
	}
	if !c.hasManifest {
		return "", nil, &archive.Error{Archive: src, Err: fmt.Errorf("no %s in %s/", manifest.FileName, prefix)}
	}
	m, err := manifest.Parse(c.manifest)
	if err != nil {
		return "", nil, &archive.Error{Archive: src, Entry: prefix + "/" + manifest.FileName, Err: err}
	}
	if m.Dir() != prefix {
		return "", nil, &archive.Error{Archive: src, Err: fmt.Errorf("the top directory is %q but %s names %q", prefix, manifest.FileName, m.Dir())}
	}
	rep := &Report{Path: src, Kind: "archive", DeepRun: []string{}, Problems: []Problem{}}
	if set != nil {
		rep.Kind = "volumes"
	}
	if m := checkContents(c, rep); m != nil {
		checkVolumeBinding(set, m, rep)
		checkRest(ctx, c, m, rep, opts, tmp)
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	if !rep.OK() {
		return "", rep, nil
	}
	if err := atomicfs.SyncTree(tmp); err != nil {
		return "", nil, err
	}
	dest := filepath.Join(destDir, prefix)
	if err := atomicfs.RenameNoReplace(tmp, dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%q already exists", dest)
		}
		return "", nil, fmt.Errorf("extracting %q: %w", src, err)
	}
	if err := atomicfs.SyncDir(destDir); err != nil {
		if rerr := os.RemoveAll(dest); rerr != nil {
			return "", nil, errors.Join(err, fmt.Errorf("removing %q: %w", dest, rerr))
		}
		return "", nil, err
	}
	return dest, rep, nil
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
