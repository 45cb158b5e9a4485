package builder

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bdebundle/bundle/internal/outfile"
	"github.com/bdebundle/bundle/out/archive"
)

// The archive of the staging directory, written with out/archive to a
// temporary file beside the destination and flushed with the provenance.

// writeArchive writes the archive of the staging dir to a temporary file in
// outDir, flushed to disk, and returns its name.
func (b *builder) writeArchive(ctx context.Context, outDir, dir string, res *Result) (string, error) {
	final := archive.Path(outDir, dir, b.opts.Format)
	f, err := os.CreateTemp(outDir, "."+filepath.Base(final)+".tmp-")
	if err != nil {
		return "", fmt.Errorf("creating archive in %q: %w", outDir, err)
	}
	name := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(name)
		}
	}()
	var total int64
	for _, e := range b.entries {
		total += e.Size
	}
	task := b.rep.Start("writing "+filepath.Base(final), total)
	// The archive's sha256 is computed from the bytes as they are written
	// (on a goroutine of its own), and the bytes go to the disk as they are
	// written (direct I/O, or writeback started every few MiB), so the
	// fsync below has little left to wait for.
	ow := outfile.New(f)
	err = archive.Write(ctx, ow, b.staging, dir, b.entries, b.opts.Format, b.plan.Epoch, b.jobs(), task)
	if cerr := ow.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing archive %q: %w", name, cerr)
	}
	task.Done(err)
	if err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		return "", fmt.Errorf("writing archive %q: %w", name, err)
	}
	res.ArchiveSize = ow.Size()
	res.ArchiveSHA256 = hex.EncodeToString(ow.Sum())
	// The provenance names the archive's digest, known now: it is written
	// before the archive is flushed, and both are flushed at once.
	var prov *os.File
	if b.plan.Provenance != "" {
		start := time.Now()
		prov, err = b.provenanceTemp(outDir, dir, res)
		b.provTime += time.Since(start)
		if err != nil {
			return "", err
		}
		b.provTmp = prov.Name()
		defer func() {
			if !ok {
				os.Remove(b.provTmp)
				b.provTmp = ""
			}
		}()
	}
	provDone := make(chan error, 1)
	var provAt time.Time
	if prov != nil {
		go func() {
			err := prov.Sync()
			if cerr := prov.Close(); err == nil {
				err = cerr
			}
			provAt = time.Now()
			provDone <- err
		}()
	} else {
		provDone <- nil
	}
	err = f.Sync()
	archiveAt := time.Now()
	perr := <-provDone
	if prov != nil && provAt.After(archiveAt) {
		b.provTime += provAt.Sub(archiveAt) // what the provenance's flush added
	}
	if err != nil {
		return "", fmt.Errorf("flushing archive %q: %w", name, err)
	}
	if perr != nil {
		return "", fmt.Errorf("writing %q: %w", b.provTmp, perr)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing archive %q: %w", name, err)
	}
	ok = true
	return name, nil
}
