package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
	"golang.org/x/sync/errgroup"
)

// Placement says how an input reached the staging directory.
type Placement int

// Placements, from cheapest to dearest.
const (
	Linked Placement = iota // hard link to the input
	Cloned                  // reflink (FICLONE on Linux): shared extents, copy on write
	Copied                  // byte copy
)

const copyBufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// placer puts inputs into the staging directory and learns their digests.
type placer struct {
	cache *hashCache
	// scanned offers digests the caller has already computed
	// (Options.Digests: the RPM scan's); nil offers none.
	scanned  func(abs string, fi fs.FileInfo) (string, bool)
	noLink   bool
	task     progress.Task
	mu       sync.Mutex
	counts   [3]int
	cacheHit int
	scanHit  int
}

// sharedDigest returns the digest of an input placed without copying (hard
// link or reflink): the cached one, or one computed by reading the input
// and then cached.
func (p *placer) sharedDigest(ctx context.Context, abs string, fi os.FileInfo, cachedDigest string, cached bool) (string, error) {
	if cached {
		p.task.Add(fi.Size())
		return cachedDigest, nil
	}
	d, _, err := ctxio.SHA256File(ctx, abs, p.task)
	if err != nil {
		return "", err
	}
	p.cache.put(abs, fi, d)
	return d, nil
}

// place makes dst a copy of src (hard link, reflink or copy) and returns
// the sha256 and size of its content.
func (p *placer) place(ctx context.Context, src, dst string) (string, int64, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", 0, fmt.Errorf("reading %q: %w", src, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", 0, fmt.Errorf("reading input %q: %w", src, err)
	}
	if !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("reading input %q: not a regular file", src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", 0, fmt.Errorf("creating %q: %w", filepath.Dir(dst), err)
	}
	digest, cached := p.cache.get(abs, fi)
	fromScan := false
	if !cached && p.scanned != nil {
		if d, ok := p.scanned(abs, fi); ok && manifest.IsSHA256(d) {
			digest, cached, fromScan = d, true, true
			p.cache.put(abs, fi, d)
			slog.Debug("digest known", "path", src, "reason", "computed while scanning; not read again")
		}
	}
	// A hard link shares the inode, mode included, so only inputs that
	// already have the bundle's mode are linked.
	var why string // why the input is not linked, for -v
	switch {
	case p.noLink:
		why = "--no-hardlinks"
	case fi.Mode().Perm() != 0o644:
		why = fmt.Sprintf("mode %04o, not 0644", fi.Mode().Perm())
	default:
		lerr := os.Link(abs, dst)
		if lerr == nil {
			if digest, err = p.sharedDigest(ctx, abs, fi, digest, cached); err != nil {
				return "", 0, err
			}
			p.count(Linked, cached, fromScan)
			slog.Debug("input linked", "path", src, "reason", "hard link, mode 0644")
			return digest, fi.Size(), nil
		}
		why = "hard link refused: " + linkRefusal(lerr)
	}
	in, err := regular.Open(abs)
	if err != nil {
		return "", 0, fmt.Errorf("reading input %q: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", 0, fmt.Errorf("creating %q: %w", dst, err)
	}
	defer out.Close()
	cloneErr := osfs.Clone(out, in)
	if cloneErr == nil {
		if digest, err = p.sharedDigest(ctx, abs, fi, digest, cached); err != nil {
			return "", 0, err
		}
		p.count(Cloned, cached, fromScan)
		slog.Debug("input reflinked", "path", src, "reason", why)
		return digest, fi.Size(), out.Close()
	}
	var n int64
	if cached {
		// The digest is known: let the kernel copy (copy_file_range).
		n, err = io.Copy(out, ctxio.Reader(ctx, in))
		p.task.Add(n)
	} else {
		h := sha256.New()
		bp := bufPool.Get().(*[]byte)
		n, err = io.CopyBuffer(io.MultiWriter(out, progress.Writer(h, p.task)), ctxio.Reader(ctx, in), *bp)
		bufPool.Put(bp)
		digest = hex.EncodeToString(h.Sum(nil))
	}
	if err != nil {
		return "", 0, fmt.Errorf("copying %q to %q: %w", src, dst, err)
	}
	if n != fi.Size() {
		return "", 0, fmt.Errorf("copying %q: size changed while copying (%d bytes, expected %d)", src, n, fi.Size())
	}
	if !cached {
		p.cache.put(abs, fi, digest)
	}
	p.count(Copied, cached, fromScan)
	slog.Debug("input copied", "path", src, "reason", why+"; reflink refused: "+linkRefusal(cloneErr))
	if err := out.Close(); err != nil {
		return "", 0, fmt.Errorf("writing %q: %w", dst, err)
	}
	return digest, n, nil
}

// linkRefusal names why a link or clone failed, without the paths the
// error repeats.
func linkRefusal(err error) string {
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return "not supported here"
	}
	return err.Error()
}

// count records how an input was placed and where its digest came from:
// the hash cache (cached), the caller's scan (fromScan, which cached also is) or a
// read.
func (p *placer) count(how Placement, cached, fromScan bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[how]++
	switch {
	case fromScan:
		p.scanHit++
	case cached:
		p.cacheHit++
	}
}

// writeFileExcl writes data to a new file at path.
func writeFileExcl(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("writing %q: two parts of the plan write this path", path)
		}
		return fmt.Errorf("writing %q: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}

func (b *builder) placeInputs(ctx context.Context) error {
	ins := planInputs(b.plan)
	var total int64
	for _, in := range ins {
		total += in.Size
	}
	var cache *hashCache
	if !b.opts.NoCache {
		cache = newHashCache(cacheDir(b.opts.CacheDir))
	} else {
		slog.Debug("hash cache disabled", "reason", "--no-cache: every input is read")
	}
	task := b.rep.Start("placing and hashing inputs", total)
	b.placer = &placer{cache: cache, scanned: b.opts.Digests, noLink: b.opts.NoHardLinks, task: task}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.jobs())
	done := map[string]bool{}
	inputs := map[string]manifest.InputEntry{}
	for _, in := range ins {
		if done[in.Dest] {
			continue
		}
		done[in.Dest] = true
		g.Go(func() error {
			sum, size, err := b.placer.place(gctx, in.Src, b.abs(in.Dest))
			if err != nil {
				return err
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			b.digests[in.Dest] = fileDigest{sha: sum, size: size}
			rel := in.Rel
			if rel == "" {
				rel = path.Base(filepath.ToSlash(in.Src))
			}
			inputs[rel] = manifest.InputEntry{Path: rel, Size: size, SHA256: sum}
			return nil
		})
	}
	err := g.Wait()
	task.Done(err)
	if err != nil {
		return err
	}
	for _, e := range inputs {
		b.inputs = append(b.inputs, e)
	}
	return nil
}
