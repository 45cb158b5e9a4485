package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/bdebundle/bundle/internal/progress"
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
	var cache *updateCache
	var warnings []string
	// With a keyring every package is read again: the old repodata does
	// not record which key signed what.
	if opts.Update && opts.Keyring == nil {
		cache, err = loadUpdateCache(ctx, dir)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Old repodata that does not match its repomd.xml, or does
			// not parse, is not trusted: every package is read again.
			warnings = append(warnings, fmt.Sprintf("--update: not reusing the old repodata (%v); reading every package", err))
			cache = nil
		}
	}
	sopts := ScanOptions{Workers: opts.Workers, Keyring: opts.Keyring, Progress: opts.Progress, Root: dir}
	if cache != nil {
		sopts.Cache = cache
	}
	pkgs, err := Scan(ctx, paths, sopts)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(pkgs, func(i, j int) bool { return pkgs[i].Location < pkgs[j].Location })
	ts := opts.Epoch
	if ts == 0 {
		for _, p := range pkgs {
			ts = max(ts, p.BuildTime)
		}
	}
	wopts := WriteOptions{Revision: opts.Revision, Timestamp: ts, SignKey: opts.SignKey}
	if err := WriteRepodata(ctx, dir, pkgs, wopts); err != nil {
		return nil, err
	}
	// Mark when the scan began: files changed after that are re-read by
	// the next --update.
	if err := os.Chtimes(filepath.Join(dir, "repodata", "repomd.xml"), start, start); err != nil {
		return nil, fmt.Errorf("writing %q: %w", filepath.Join(dir, "repodata", "repomd.xml"), err)
	}
	res := &IndexResult{Dir: dir, Packages: len(pkgs), Revision: wopts.Revision, Timestamp: ts, Signed: opts.SignKey != nil, Warnings: warnings}
	if res.Revision == "" {
		res.Revision = fmt.Sprint(ts)
	}
	for _, p := range pkgs {
		res.Bytes += p.Size
	}
	if cache != nil {
		res.Reused = int(cache.hits)
	}
	res.Read = len(pkgs) - res.Reused
	entries, err := os.ReadDir(filepath.Join(dir, "repodata"))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", filepath.Join(dir, "repodata"), err)
	}
	for _, e := range entries {
		res.Files = append(res.Files, "repodata/"+e.Name())
	}
	return res, nil
}

// updateCache answers Scan's lookups from existing repodata: a package is
// reused when its path and size match and the file was neither modified nor
// replaced (mtime and ctime) after the previous index run began, which
// Index records as repomd.xml's modification time.
type updateCache struct {
	byLoc map[string]*Package
	root  string
	since time.Time
	hits  int64
}

func loadUpdateCache(ctx context.Context, dir string) (*updateCache, error) {
	md := filepath.Join(dir, "repodata", "repomd.xml")
	fi, err := os.Stat(md)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", md, err)
	}
	pkgs, err := ReadRepodata(ctx, dir)
	if err != nil {
		return nil, err
	}
	c := &updateCache{byLoc: make(map[string]*Package, len(pkgs)), root: dir, since: fi.ModTime()}
	for _, p := range pkgs {
		c.byLoc[p.Location] = p
	}
	return c, nil
}

func (c *updateCache) Lookup(path string, fi fs.FileInfo) *Package {
	rel, err := filepath.Rel(c.root, path)
	if err != nil {
		return nil
	}
	p := c.byLoc[filepath.ToSlash(rel)]
	if p == nil || p.Size != fi.Size() || fi.ModTime().After(c.since) || changeTime(fi).After(c.since) {
		return nil
	}
	atomic.AddInt64(&c.hits, 1)
	return p
}
