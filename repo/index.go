package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/repo/rpm"
)

// IndexOptions control Index.
type IndexOptions struct {
	// Workers is the number of RPMs read at once; 0 means GOMAXPROCS.
	Workers int
	// Update reuses the metadata of packages unchanged since the existing
	// repodata was written (same path and size, not modified or replaced
	// since), like createrepo_c --update. It has no effect with a Keyring.
	Update bool
	// Revision is written as <revision>; empty means the timestamp.
	Revision string
	// Epoch is every timestamp written (the bundle epoch). 0 means the
	// newest build time among the packages, so the output depends only on
	// the RPMs' contents.
	Epoch int64
	// SignKey signs repomd.xml when set.
	SignKey *openpgp.Entity
	// Keyring, when set, requires every RPM to be signed by one of its keys.
	Keyring openpgp.EntityList
	// Progress receives the scan's progress.
	Progress progress.Reporter
}

// IndexResult summarises an Index run.
type IndexResult struct {
	Dir       string   `json:"dir"`
	Packages  int      `json:"packages"`
	Reused    int      `json:"reused"`
	Read      int      `json:"read"`
	Bytes     int64    `json:"bytes"`
	Revision  string   `json:"revision"`
	Timestamp int64    `json:"timestamp"`
	Signed    bool     `json:"signed"`
	Files     []string `json:"files"`
	Warnings  []string `json:"warnings,omitempty"`
	// Signatures lists, for every package (read, or reused by --update),
	// the OpenPGP signatures its signature header carries, sorted by
	// location; an unsigned package has none.
	Signatures []PackageSignatures `json:"package_signatures"`
}

// PackageSignatures are the signatures of one package.
type PackageSignatures struct {
	Location   string          `json:"location"`
	NEVRA      string          `json:"nevra"`
	Signatures []rpm.Signature `json:"signatures"`
	// Summary is Package.SignatureSummary.
	Summary []string `json:"summary"`
}

// Index writes repodata for every *.rpm under dir (recursively, sorted by
// path; hidden directories and repodata/ are skipped): the whole
// `bundle repo index DIR` job.
func Index(ctx context.Context, dir string, opts IndexOptions) (*IndexResult, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("reading %q: not a directory", dir)
	}
	start := time.Now()
	paths, err := findRPMs(dir)
	if err != nil {
		return nil, err
	}
	// Repository order: by location (findRPMs sorts the full paths, which
	// agrees, but the locations are what is written).
	locs := make([]string, len(paths))
	for i, p := range paths {
		if locs[i], err = location(dir, p); err != nil {
			return nil, err
		}
	}
	order := make([]int, len(paths))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return locs[order[a]] < locs[order[b]] })
	sorted := make([]string, len(paths))
	for i, j := range order {
		sorted[i] = paths[j]
	}
	paths, locs, order = sorted, nil, nil

	res := &IndexResult{Dir: dir, Packages: len(paths), Revision: opts.Revision, Signed: opts.SignKey != nil}
	err = withTempRepodata(ctx, dir, func(tmp string) error {
		sp, err := newSpill(tmp, len(paths))
		if err != nil {
			return err
		}
		defer sp.close()
		var cache *updateCache
		// With a keyring every package is read again: the old repodata does
		// not record which key signed what.
		if opts.Update && opts.Keyring == nil {
			cache, err = loadUpdateCache(ctx, dir, sp)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// Old repodata that does not match its repomd.xml, or does
				// not parse, is not trusted: every package is read again.
				res.Warnings = append(res.Warnings, fmt.Sprintf("--update: not reusing the old repodata (%v); reading every package", err))
				cache = nil
			}
		}
		if err := sp.finish(); err != nil {
			return err
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			return err
		}
		// The three files are written while the scan runs, each package's
		// elements as soon as it and those before it are read (ordered).
		// primary's <time file> is the epoch: when none is given it is the
		// newest build time, known only after the scan, and primary's
		// elements go to the spill file and are written after it.
		streamPrimary := opts.Epoch != 0
		ord := newOrdered(len(paths), streamPrimary)
		defer ord.abort()
		sigs := make([]*PackageSignatures, len(paths))
		var reuse func(int, string, fs.FileInfo) bool
		if cache != nil {
			reuse = func(i int, path string, fi fs.FileInfo) bool {
				loc, op, ok := cache.lookup(path, fi)
				if !ok {
					return false
				}
				// The old repodata does not record signatures: they are
				// read again from the signature header, which is all of
				// the file that is read. A file whose signature header
				// does not read is read in full (and reported).
				ss, err := rpm.ReadSignatures(path)
				if err != nil {
					return false
				}
				atomic.AddInt64(&cache.hits, 1)
				sp.recs[i] = op.rec
				sigs[i] = packageSignatures(loc, op.nevra, &rpm.Package{Signatures: ss})
				return true
			}
		}
		wopts := WriteOptions{Revision: opts.Revision, Timestamp: opts.Epoch, SignKey: opts.SignKey}
		frags := ord.fragments(sp, opts.Epoch)
		recs := make([]repomdRecord, 3)
		// A writer that fails stops the scan (through sctx) and the other
		// writers (through ord); a scan that fails stops the writers.
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg errgroup.Group
		writeJob := func(k int, frags fragments) {
			job := metadataJobs(len(paths), frags)[k]
			wg.Go(func() error {
				rec, err := writeXMLGz(sctx, tmp, job.typ, job.head, job.foot, len(paths), job.frag, !wopts.NoSync)
				recs[k] = rec
				if err != nil && !errors.Is(err, errAborted) {
					ord.abort()
					cancel()
				}
				return err
			})
		}
		for k := range recs {
			if k > 0 || streamPrimary {
				writeJob(k, frags)
			}
		}
		sopts := ScanOptions{Workers: opts.Workers, Keyring: opts.Keyring, Progress: opts.Progress, Root: dir}
		// admitted[i]: the i-th file went through the window (all but the
		// few large ones read first).
		admitted := make([]bool, len(paths))
		err = scanEachHooks(sctx, paths, sopts, scanHooks{
			reuse: reuse,
			emit: func(i int, p *rpm.Package) error {
				sigs[i] = packageSignatures(p.Location, p.NEVRA.String(), p)
				rec := spillRec{size: p.Size, buildTime: p.BuildTime, set: true}
				if !streamPrimary {
					r, err := sp.putPrimary(p)
					if err != nil {
						return err
					}
					rec = r
				}
				sp.recs[i] = rec
				ord.put(i, renderElems(p, streamPrimary), !admitted[i])
				return nil
			},
			admit: func(i int) {
				admitted[i] = true
				ord.admit(i)
			},
			settled: func(i int) { ord.settle(i, sp.recs[i].set) },
		})
		if err != nil {
			ord.abort()
			if werr := wg.Wait(); werr != nil && !errors.Is(werr, errAborted) && ctx.Err() == nil {
				return werr // the scan stopped because a writer failed
			}
			return err
		}
		if err := sp.finish(); err != nil {
			ord.abort()
			wg.Wait()
			return err
		}
		res.Signatures = []PackageSignatures{}
		for _, ps := range sigs {
			if ps != nil {
				res.Signatures = append(res.Signatures, *ps)
			}
		}
		ts := opts.Epoch
		for _, r := range sp.recs {
			if opts.Epoch == 0 {
				ts = max(ts, r.buildTime)
			}
			res.Bytes += r.size
		}
		res.Timestamp = ts
		if cache != nil {
			res.Reused = int(cache.hits)
		}
		wopts.Timestamp = ts
		wt := progress.Or(opts.Progress).Start(fmt.Sprintf("writing repodata of %d packages", len(paths)), -1)
		if !streamPrimary {
			writeJob(0, sp.fragments(ts))
		}
		err = wg.Wait()
		if err == nil {
			err = writeRepomd(ctx, tmp, recs, wopts)
		}
		wt.Done(err)
		if err != nil {
			return err
		}
		sp.close()
		// Mark when the scan began: files changed after that are re-read by
		// the next --update.
		if err := os.Chtimes(filepath.Join(tmp, "repomd.xml"), start, start); err != nil {
			return fmt.Errorf("writing %q: %w", filepath.Join(dir, "repodata", "repomd.xml"), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.Revision == "" {
		res.Revision = fmt.Sprint(res.Timestamp)
	}
	res.Read = res.Packages - res.Reused
	if opts.Update {
		reason := "path, size and mtime unchanged since the old repodata"
		if res.Reused == 0 {
			reason = "no package unchanged since the old repodata, or none to reuse"
		}
		slog.Debug("repodata reused", "repo", dir, "reused", res.Reused, "read", res.Read, "reason", reason)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "repodata"))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", filepath.Join(dir, "repodata"), err)
	}
	for _, e := range entries {
		res.Files = append(res.Files, "repodata/"+e.Name())
	}
	return res, nil
}

func packageSignatures(loc, nevra string, p *rpm.Package) *PackageSignatures {
	ps := &PackageSignatures{Location: loc, NEVRA: nevra, Signatures: p.Signatures, Summary: p.SignatureSummary()}
	if ps.Signatures == nil {
		ps.Signatures, ps.Summary = []rpm.Signature{}, []string{}
	}
	return ps
}

// updateCache answers Scan's lookups from existing repodata: a package is
// reused when its path and size match and the file was neither modified nor
// replaced (mtime and ctime) after the previous index run began, which
// Index records as repomd.xml's modification time. The old packages'
// elements are in the spill file; only their records are kept here.
type updateCache struct {
	byLoc map[string]oldPackage
	root  string
	since time.Time
	hits  int64
}

func loadUpdateCache(ctx context.Context, dir string, sp *spill) (*updateCache, error) {
	md := filepath.Join(dir, "repodata", "repomd.xml")
	fi, err := os.Stat(md)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", md, err)
	}
	c := &updateCache{byLoc: map[string]oldPackage{}, root: dir, since: fi.ModTime()}
	err = loadOldRepodata(ctx, dir, sp, func(loc string, op oldPackage) {
		c.byLoc[loc] = op
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// lookup returns the old package at path's location when it can be
// reused.
func (c *updateCache) lookup(path string, fi fs.FileInfo) (string, oldPackage, bool) {
	rel, err := filepath.Rel(c.root, path)
	if err != nil {
		return "", oldPackage{}, false
	}
	loc := filepath.ToSlash(rel)
	op, ok := c.byLoc[loc]
	if !ok || op.rec.size != fi.Size() || fi.ModTime().After(c.since) || osfs.ChangeTime(fi).After(c.since) {
		return "", oldPackage{}, false
	}
	return loc, op, true
}
