package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"sync"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/sbom"
)

// Reading a bundle archive as a stream through out/archive, every file
// entry hashed; an unsafe entry stops the read with a problem.

// bufPool holds the copy buffers of verify and extract.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// errStopRead ends an archive walk after a problem was recorded.
var errStopRead = errors.New("archive read stopped")

// readArchive streams the archive, hashing every file entry. An unsafe
// entry stops the read with a problem and a nil result.
func readArchive(ctx context.Context, p string, rep *Report, opts Options) (*contents, string, error) {
	task := progress.Or(opts.Progress).Start("verifying "+filepath.Base(p), -1)
	c := &contents{files: map[string]seen{}}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	prefix, err := archive.Walk(ctx, p, nil, func(h *tar.Header, rel string, r io.Reader) error {
		if h.Typeflag == tar.TypeDir {
			return nil
		}
		if _, dup := c.files[rel]; dup || (manifest.IsMetaFile(rel) && (rel == manifest.FileName && c.hasManifest || rel == manifest.SumsName && c.hasSums || rel == manifest.SignatureName && c.hasSig)) {
			rep.add(rel, "appears twice in the archive")
			return nil
		}
		if manifest.IsMetaFile(rel) {
			if h.Size > manifest.MaxMetaSize {
				rep.add(rel, "larger than %d bytes", manifest.MaxMetaSize)
				return nil
			}
			data, err := io.ReadAll(r)
			if err != nil {
				rep.add(rel, "reading archive: %v", err)
				return errStopRead
			}
			c.setMeta(rel, data)
			return nil
		}
		hs := sha256.New()
		var w io.Writer = hs
		var keep bytes.Buffer
		if rel == sbom.FileName && h.Size <= manifest.MaxMetaSize {
			w = io.MultiWriter(hs, &keep)
		}
		n, err := io.CopyBuffer(progress.Writer(w, task), r, *bp)
		if err != nil {
			rep.add(rel, "reading archive: %v", err)
			return errStopRead
		}
		if rel == sbom.FileName && h.Size <= manifest.MaxMetaSize {
			c.sbom, c.hasSBOM = keep.Bytes(), true
		}
		c.files[rel] = seen{size: n, sha: hex.EncodeToString(hs.Sum(nil)), exec: h.Mode&0o111 != 0}
		return nil
	})
	var ae *archive.Error
	switch {
	case err == nil:
	case errors.Is(err, errStopRead):
		task.Done(nil)
		return nil, prefix, nil
	case errors.As(err, &ae) && ae.Refused:
		task.Done(nil)
		at := ae.Entry
		if at == "" {
			at = filepath.Base(p)
		}
		rep.add(at, "refused archive entry: %v", ae.Err)
		return nil, prefix, nil
	case errors.As(err, &ae):
		task.Done(err)
		rep.add(filepath.Base(p), "reading archive: %v", ae.Err)
		return nil, prefix, nil
	default:
		task.Done(err)
		return nil, "", err
	}
	task.Done(nil)
	if prefix == "" {
		rep.add(filepath.Base(p), "the archive is empty")
		return nil, "", nil
	}
	return c, prefix, nil
}
