package repo

import (
	"context"
	_ "crypto/sha1" // payload and header digests
	_ "crypto/sha512"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/repo/rpm"
	"github.com/bdebundle/bundle/repo/rpmsig"
)

// Cache supplies metadata already known for a file, so Scan need not read
// it again. Lookup returns nil when the file must be read.
type Cache interface {
	Lookup(path string, fi fs.FileInfo) *rpm.Package
}

// ScanOptions control Scan.
type ScanOptions struct {
	// Workers is the number of files read at once; 0 means GOMAXPROCS.
	Workers int
	// Keyring, when non-nil, requires every RPM to carry a valid signature
	// from one of its keys.
	Keyring openpgp.EntityList
	// Progress receives the bytes read.
	Progress progress.Reporter
	// Cache, when set, is asked before a file is read.
	Cache Cache
	// Root is the directory locations are relative to; when empty each
	// package's location is its file name.
	Root string
}

// Scan reads the header of every RPM in paths, checks its digests (and
// signature when a keyring is given) and computes its sha256, reading each
// file once. The payload is hashed, never decompressed. Packages come back
// in the order of paths. Every bad file is reported, each error naming the
// file and the problem.
func Scan(ctx context.Context, paths []string, opts ScanOptions) ([]*rpm.Package, error) {
	pkgs := make([]*rpm.Package, len(paths))
	var reuse func(int, string, fs.FileInfo) bool
	if opts.Cache != nil {
		reuse = func(i int, path string, fi fs.FileInfo) bool {
			p := opts.Cache.Lookup(path, fi)
			if p == nil {
				return false
			}
			cp := *p
			cp.Location, _ = location(opts.Root, path) // checked by scanEach first
			pkgs[i] = &cp
			return true
		}
	}
	err := scanEach(ctx, paths, opts, reuse, func(i int, p *rpm.Package) error {
		pkgs[i] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pkgs, nil
}

// scanEach is Scan without the collecting: each file is offered to reuse
// (when set), which returns true when it has what it needs without reading
// the file; every other file is read and handed to emit with its index in
// paths and its Location set. reuse and emit are called from several
// goroutines at once; an error from emit stops the scan.
func scanEach(ctx context.Context, paths []string, opts ScanOptions, reuse func(i int, path string, fi fs.FileInfo) bool, emit func(i int, p *rpm.Package) error) error {
	return scanEachHooks(ctx, paths, opts, scanHooks{reuse: reuse, emit: emit})
}

// scanHooks are what scanEachHooks calls. reuse and emit are as for
// scanEach. admit, when set, is called (from one goroutine, in dispatch
// order) before the i-th file is handed to a worker, except for the few
// large files read first (scanOrder), and may block to bound the work in
// flight. settled, when set, is called once a file is done with,
// whether it was reused, emitted or failed (not for files never started
// because the scan was cancelled).
type scanHooks struct {
	reuse   func(i int, path string, fi fs.FileInfo) bool
	emit    func(i int, p *rpm.Package) error
	admit   func(i int)
	settled func(i int)
}

// largeFirst is how many of the largest files (of at least largeFile
// bytes) a scan starts with; the rest are read in the order given, so that
// a consumer of packages in path order is fed steadily.
const (
	largeFirst = 16
	largeFile  = 1 << 20
)

// scanOrder returns the order in which files are read: up to largeFirst
// of the largest files (at least largeFile bytes) first, largest first, so
// that no worker finishes a big file long after the rest are done; then
// the others in the order given. nfirst is the number of the former.
func scanOrder(sizes []int64) (order []int, nfirst int) {
	var big []int
	for i, s := range sizes {
		if s >= largeFile {
			big = append(big, i)
		}
	}
	sort.SliceStable(big, func(a, b int) bool { return sizes[big[a]] > sizes[big[b]] })
	big = big[:min(len(big), largeFirst)]
	first := make(map[int]bool, len(big))
	for _, i := range big {
		first[i] = true
	}
	order = append(make([]int, 0, len(sizes)), big...)
	for i := range sizes {
		if !first[i] {
			order = append(order, i)
		}
	}
	return order, len(big)
}

func scanEachHooks(ctx context.Context, paths []string, opts ScanOptions, h scanHooks) error {
	reuse, emit := h.reuse, h.emit
	settled := h.settled
	if settled == nil {
		settled = func(int) {}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rep := progress.Or(opts.Progress)
	var total int64
	// Only the sizes are kept (a FileInfo is a few hundred bytes, which
	// adds up over tens of thousands of packages); reuse gets a fresh one.
	sizes := make([]int64, len(paths))
	var errs []error
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %q: %w", p, err))
			continue
		}
		if !fi.Mode().IsRegular() {
			errs = append(errs, fmt.Errorf("reading %q: not a regular file", p))
			continue
		}
		sizes[i] = fi.Size()
		total += fi.Size()
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var keyring *rpmsig.Keyring
	if opts.Keyring != nil {
		keyring = rpmsig.NewKeyring(opts.Keyring)
	}
	task := rep.Start(fmt.Sprintf("scanning %d RPMs", len(paths)), total)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	order, nfirst := scanOrder(sizes)
	for pos, i := range order {
		path := paths[i]
		if h.admit != nil && pos >= nfirst {
			h.admit(i)
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			defer settled(i)
			loc, err := location(opts.Root, path)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return nil
			}
			size := sizes[i]
			if reuse != nil {
				fi, err := os.Stat(path)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("reading %q: %w", path, err))
					mu.Unlock()
					return nil
				}
				if fi.Size() == size && reuse(i, path, fi) {
					task.Add(size)
					progress.AddItems(task, 1)
					return nil
				}
			}
			p, err := rpm.ReadFile(gctx, path, size, keyring, task)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return nil
			}
			p.Location = loc
			progress.AddItems(task, 1)
			return emit(i, p)
		})
	}
	werr := g.Wait()
	if werr == nil {
		werr = ctx.Err()
	}
	if werr != nil {
		task.Done(werr)
		return werr
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		err := errors.Join(errs...)
		task.Done(err)
		return err
	}
	task.Done(nil)
	return nil
}

func location(root, path string) (string, error) {
	if root == "" {
		return filepath.Base(path), nil
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("reading %q: not inside the repository directory %q", path, root)
	}
	return filepath.ToSlash(rel), nil
}
