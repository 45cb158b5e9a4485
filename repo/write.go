package repo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/repo/rpm"
)

// WriteOptions control the reproducible parts of the repodata.
type WriteOptions struct {
	// Revision is written as <revision>; empty means Timestamp in decimal.
	Revision string
	// Timestamp is written as every <timestamp>, as each package's
	// <time file> and as the signature time: the bundle epoch.
	Timestamp int64
	// SignKey, when set, signs repomd.xml into repomd.xml.asc (armored,
	// detached).
	SignKey *openpgp.Entity
	// NoSync leaves the files unflushed, for a caller that flushes the
	// whole tree itself (builder.Build flushes its staging directory); by
	// default each file is flushed before repodata/ is swapped in.
	NoSync bool
}

// gzipLevel trades size for speed: klauspost/compress's level 1 (its
// smallest tables, which matters with three writers beside the scan) makes
// files about 20 % larger than createrepo_c's (zlib's level 6) in a
// fraction of its time (docs/repo.md); the metadata is small next to the
// packages.
const gzipLevel = 1

// repomdRecord describes one metadata file listed in repomd.xml.
type repomdRecord struct {
	Type         string
	Href         string // repodata/<checksum>-<type>.xml.gz
	Checksum     string
	OpenChecksum string
	Size         int64
	OpenSize     int64
}

// hashCounter hashes and counts what is written through it.
type hashCounter struct {
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// teeWriter writes to w after passing the bytes to c.
type teeWriter struct {
	c *hashCounter
	w interface{ Write([]byte) (int, error) }
}

func (t teeWriter) Write(p []byte) (int, error) {
	t.c.Write(p)
	return t.w.Write(p)
}

// WriteRepodata writes repodata/ (repomd.xml, primary, filelists and other
// .xml.gz, and repomd.xml.asc when a key is given) for pkgs into repoDir.
// Packages are written in the order given. The new repodata is written into
// a temporary directory beside the old one and swapped into place, so a
// failure leaves the previous repodata untouched.
func WriteRepodata(ctx context.Context, repoDir string, pkgs []*rpm.Package, opts WriteOptions) error {
	return withTempRepodata(ctx, repoDir, func(tmp string) error {
		frags := fragments{
			primary:   rendered(func(b []byte, i int) []byte { return appendPrimary(b, pkgs[i], opts.Timestamp) }),
			filelists: rendered(func(b []byte, i int) []byte { return appendFilelists(b, pkgs[i]) }),
			other:     rendered(func(b []byte, i int) []byte { return appendOther(b, pkgs[i]) }),
		}
		return writeRepodataDir(ctx, tmp, len(pkgs), frags, opts)
	})
}

// withTempRepodata runs write on a new temporary directory beside
// repoDir/repodata and swaps it into place when write succeeds; on failure
// the previous repodata is left untouched and the directory removed.
func withTempRepodata(ctx context.Context, repoDir string, write func(tmp string) error) error {
	tmp, err := os.MkdirTemp(repoDir, ".repodata-")
	if err != nil {
		return fmt.Errorf("creating repodata in %q: %w", repoDir, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := atomicfs.ReplaceDir(tmp, filepath.Join(repoDir, "repodata")); err != nil {
		return fmt.Errorf("replacing %q: %w", filepath.Join(repoDir, "repodata"), err)
	}
	ok = true
	return nil
}

// elemWriter writes the i-th package's element of a metadata file to w.
type elemWriter func(w *bufio.Writer, i int) error

// fragments are the fragments of the three metadata files.
type fragments struct {
	primary, filelists, other elemWriter
}

// rendered is the elemWriter that renders each element with appendElem into
// a buffer of its own, then writes it.
func rendered(appendElem func(b []byte, i int) []byte) elemWriter {
	buf := make([]byte, 0, 64<<10)
	return func(w *bufio.Writer, i int) error {
		buf = appendElem(buf[:0], i)
		_, err := w.Write(buf)
		return err
	}
}

// xmlGzJob is one metadata file to write.
type xmlGzJob struct {
	typ  string
	head []byte
	foot string
	frag elemWriter
}

// metadataJobs are the three metadata files of n packages: primary,
// filelists, other.
func metadataJobs(n int, frags fragments) [3]xmlGzJob {
	return [3]xmlGzJob{
		{"primary", primaryHead(n), "</metadata>", frags.primary},
		{"filelists", filelistsHead(n), "</filelists>", frags.filelists},
		{"other", otherHead(n), "</otherdata>", frags.other},
	}
}

// writeRepodataDir writes the metadata of n packages, given as fragments,
// and repomd.xml (and its signature) into dir.
func writeRepodataDir(ctx context.Context, dir string, n int, frags fragments, opts WriteOptions) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	jobs := metadataJobs(n, frags)
	recs := make([]repomdRecord, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range jobs {
		g.Go(func() error {
			rec, err := writeXMLGz(gctx, dir, k.typ, k.head, k.foot, n, k.frag, !opts.NoSync)
			recs[i] = rec
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return writeRepomd(ctx, dir, recs, opts)
}

// writeRepomd writes repomd.xml for the metadata files recs, and its
// signature when a key is given.
func writeRepomd(ctx context.Context, dir string, recs []repomdRecord, opts WriteOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	md := repomdXML(recs, opts)
	if err := writeFileSync(filepath.Join(dir, "repomd.xml"), md, !opts.NoSync); err != nil {
		return err
	}
	if opts.SignKey != nil {
		var sig bytes.Buffer
		// The signature time is the epoch, or the key's creation time when
		// the key is younger: deterministic either way.
		when := time.Unix(opts.Timestamp, 0)
		if created := opts.SignKey.PrimaryKey.CreationTime; created.After(when) {
			when = created
		}
		deterministic := false
		cfg := &packet.Config{Time: func() time.Time { return when }, NonDeterministicSignaturesViaNotation: &deterministic}
		if err := openpgp.ArmoredDetachSign(&sig, opts.SignKey, bytes.NewReader(md), cfg); err != nil {
			return fmt.Errorf("signing repomd.xml: %w", err)
		}
		sig.WriteByte('\n')
		if err := writeFileSync(filepath.Join(dir, "repomd.xml.asc"), sig.Bytes(), !opts.NoSync); err != nil {
			return err
		}
	}
	return nil
}

// writeFileSync writes data to path, flushed to disk when sync is set.
func writeFileSync(path string, data []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if !sync {
		return f.Close()
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}

// writeXMLGz streams one metadata file into dir as <type>.xml.gz (flushed
// when sync is set), then renames it to its checksum-prefixed name.
func writeXMLGz(ctx context.Context, dir, typ string, head []byte, foot string, n int, frag elemWriter, sync bool) (repomdRecord, error) {
	tmpName := filepath.Join(dir, typ+".xml.gz")
	f, err := os.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return repomdRecord{}, fmt.Errorf("writing %q: %w", tmpName, err)
	}
	defer f.Close()
	comp := &hashCounter{h: sha256.New()}
	open := &hashCounter{h: sha256.New()}
	// Small buffers: Index runs the three writers beside the scan, under
	// the CLI's soft heap limit, where every MiB held is garbage collection.
	fileBuf := bufio.NewWriterSize(f, 32<<10)
	zw, err := gzip.NewWriterLevel(teeWriter{comp, fileBuf}, gzipLevel)
	if err != nil {
		return repomdRecord{}, err
	}
	out := bufio.NewWriterSize(teeWriter{open, zw}, 32<<10)
	if _, err := out.Write(head); err != nil {
		return repomdRecord{}, fmt.Errorf("writing %q: %w", tmpName, err)
	}
	for i := range n {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return repomdRecord{}, err
			}
		}
		if err := frag(out, i); err != nil {
			if errors.Is(err, errAborted) {
				return repomdRecord{}, err
			}
			return repomdRecord{}, fmt.Errorf("writing %q: %w", tmpName, err)
		}
	}
	if _, err := out.WriteString(foot); err != nil {
		return repomdRecord{}, fmt.Errorf("writing %q: %w", tmpName, err)
	}
	flush := func() error {
		if sync {
			return f.Sync()
		}
		return nil
	}
	if err := errors.Join(out.Flush(), zw.Close(), fileBuf.Flush(), flush(), f.Close()); err != nil {
		return repomdRecord{}, fmt.Errorf("writing %q: %w", tmpName, err)
	}
	rec := repomdRecord{
		Type:         typ,
		Checksum:     hex.EncodeToString(comp.h.Sum(nil)),
		OpenChecksum: hex.EncodeToString(open.h.Sum(nil)),
		Size:         comp.n,
		OpenSize:     open.n,
	}
	name := rec.Checksum + "-" + typ + ".xml.gz"
	rec.Href = "repodata/" + name
	if err := os.Rename(tmpName, filepath.Join(dir, name)); err != nil {
		return repomdRecord{}, fmt.Errorf("writing %q: %w", tmpName, err)
	}
	return rec, nil
}

func repomdXML(recs []repomdRecord, opts WriteOptions) []byte {
	rev := opts.Revision
	if rev == "" {
		rev = strconv.FormatInt(opts.Timestamp, 10)
	}
	ts := strconv.FormatInt(opts.Timestamp, 10)
	b := []byte(xmlDecl + `<repomd xmlns="` + nsRepo + `" xmlns:rpm="` + nsRPM + `">` + "\n")
	b = append(b, "  <revision>"...)
	b = appendText(b, rev)
	b = append(b, "</revision>\n"...)
	for _, r := range recs {
		b = append(b, `  <data type="`+r.Type+`">`+"\n"...)
		b = append(b, `    <checksum type="sha256">`+r.Checksum+"</checksum>\n"...)
		b = append(b, `    <open-checksum type="sha256">`+r.OpenChecksum+"</open-checksum>\n"...)
		b = append(b, `    <location href="`+r.Href+`"/>`+"\n"...)
		b = append(b, "    <timestamp>"+ts+"</timestamp>\n"...)
		b = append(b, "    <size>"+strconv.FormatInt(r.Size, 10)+"</size>\n"...)
		b = append(b, "    <open-size>"+strconv.FormatInt(r.OpenSize, 10)+"</open-size>\n"...)
		b = append(b, "  </data>\n"...)
	}
	return append(b, "</repomd>\n"...)
}
