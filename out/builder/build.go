package builder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
)

// Build steps, in order. Options.Fault is called with each before it runs.
const (
	StepStage      = "stage"      // staging directory created
	StepInputs     = "inputs"     // RPMs, keys, disks placed
	StepFiles      = "files"      // rendered files written
	StepRepos      = "repos"      // repository metadata written
	StepImages     = "images"     // OCI layout written
	StepTemplates  = "templates"  // OVF/OVA written
	StepManifest   = "manifest"   // bundle.json, SHA256SUMS, signature written
	StepSync       = "sync"       // staging flushed to disk
	StepArchive    = "archive"    // archive written to a temporary file
	StepProvenance = "provenance" // provenance written to a temporary file
	StepSwapDir    = "swap-dir"   // bundle directory renamed into place
	StepSwapArch   = "swap-archive"
	StepCleanup    = "cleanup"
)

// Options tune Build. The zero value builds a tar.zst archive, uses the
// hash cache and hard links, and skips repodata, images and templates.
type Options struct {
	// BuilderVersion is recorded in bundle.json as "bundle <version>".
	BuilderVersion string
	// Format of the archive; "" is tar.zst.
	Format archive.Format
	// NoArchive skips the archive (and removes a stale one of the same bundle).
	NoArchive bool
	// SignKey is an armored OpenPGP secret key (or keyring) used to write
	// bundle.json.sig; SignPassphrase unlocks it when it is encrypted.
	SignKey        []byte
	SignPassphrase []byte
	// CacheDir holds the input hash cache; "" means $BUNDLE_CACHE_DIR,
	// $XDG_CACHE_HOME/bundle or ~/.cache/bundle. NoCache disables it.
	CacheDir string
	NoCache  bool
	// NoHardLinks copies (or reflinks) inputs instead of hard-linking them.
	NoHardLinks bool
	// Digests, when set, offers the sha256 of an input the caller has
	// already read (pipeline's RPM scan): it is given the input's absolute
	// path and its stat just before it is placed, and answers only when
	// that is the file it read, unchanged since (same size, modification
	// and change times, device and inode). Build then does not read the
	// input to hash it.
	Digests func(abs string, fi fs.FileInfo) (sha256 string, ok bool)
	// Jobs bounds parallel placing and hashing; 0 is GOMAXPROCS.
	Jobs int

	Repos     RepoWriter
	Images    ImageWriter
	Templates TemplateWriter

	// Protect are paths the build reads besides the plan's inputs (the
	// definition, var files, keys): Build refuses to run when one lies
	// inside the bundle directory or archive it would replace.
	Protect []string

	Progress progress.Reporter
	// Fault, when set, is called before each step (Step* constants); an
	// error aborts the build there. It exists to test atomicity.
	Fault func(step string) error
}

// Result describes a finished build.
type Result struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Dir           string `json:"dir"`
	Archive       string `json:"archive,omitempty"`
	ArchiveSize   int64  `json:"archive_size,omitempty"`
	ArchiveSHA256 string `json:"archive_sha256,omitempty"`
	Files         int    `json:"files"`
	Bytes         int64  `json:"bytes"`
	Packages      int    `json:"packages"`
	Images        int    `json:"images"`
	Templates     int    `json:"templates"`
	Signed        bool   `json:"signed"`
	// How inputs were placed, and how many digests came from the cache.
	Linked       int `json:"inputs_linked"`
	Cloned       int `json:"inputs_cloned"`
	Copied       int `json:"inputs_copied"`
	CachedHashes int `json:"inputs_hash_cached"`
	// ScannedHashes are the digests Options.Digests supplied.
	ScannedHashes int `json:"inputs_hash_scanned"`
	// ManifestSHA256 is the sha256 of bundle.json.
	ManifestSHA256 string `json:"manifest_sha256"`
	// Provenance is the in-toto provenance file beside the archive.
	Provenance string `json:"provenance,omitempty"`
	// SBOMTime and ProvenanceTime are how long writing the SBOM and the
	// provenance took.
	SBOMTime       time.Duration `json:"-"`
	ProvenanceTime time.Duration `json:"-"`
}

// Build executes plan into outDir/<name>-<version>/ and, unless
// opts.NoArchive, outDir/<name>-<version>.<format>. Both appear atomically:
// the directory is assembled in a staging sibling, flushed, and swapped in;
// the archive is written to a temporary sibling and renamed. If Build fails
// or is killed, the previous bundle stays complete at the destination, and
// the next Build removes the leftovers.
func Build(ctx context.Context, checked *Checked, outDir string, opts Options) (*Result, error) {
	if checked == nil {
		return nil, errors.New("building bundle: no plan")
	}
	plan := checked.plan
	format, err := archive.ParseFormat(string(opts.Format))
	if err != nil {
		return nil, err
	}
	opts.Format = format
	if len(opts.SignKey) > 0 {
		if _, err := manifest.SigningKey(opts.SignKey, opts.SignPassphrase); err != nil {
			return nil, fmt.Errorf("reading signing key: %w", err)
		}
	}
	fault := opts.Fault
	if fault == nil {
		fault = func(string) error { return nil }
	}
	rep := progress.Or(opts.Progress)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory %q: %w", outDir, err)
	}
	dir := plan.Dir()
	unlock, err := lockBundle(outDir, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	protect := append([]string(nil), opts.Protect...)
	for _, in := range planInputs(plan) {
		protect = append(protect, in.Src)
	}
	if err := checkReplaceable(outDir, dir, protect); err != nil {
		return nil, err
	}
	if err := recoverLeftovers(outDir, dir); err != nil {
		return nil, err
	}

	if err := fault(StepStage); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(outDir, "."+dir+".staging-")
	if err != nil {
		return nil, fmt.Errorf("creating staging directory in %q: %w", outDir, err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(staging)
		}
	}()
	if err := os.Chmod(staging, 0o755); err != nil {
		return nil, fmt.Errorf("creating staging directory: %w", err)
	}

	b := &builder{plan: plan, opts: opts, staging: staging, digests: map[string]fileDigest{}, rep: rep}
	res := &Result{Name: plan.Name, Version: plan.Version, Dir: filepath.Join(outDir, dir)}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{StepInputs, b.placeInputs},
		{StepFiles, b.writeFiles},
		{StepRepos, b.writeRepos},
		{StepImages, b.writeImages},
		{StepTemplates, b.writeTemplates},
		{StepManifest, b.writeManifest},
	}
	for _, s := range steps {
		if err := fault(s.name); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.run(ctx); err != nil {
			return nil, err
		}
	}
	// The staging dir is flushed while the archive is written (the flush
	// mostly waits for the disk; the archive reads what is flushed, from
	// the page cache): it must be complete before the swap, not before
	// the archive.
	if err := fault(StepSync); err != nil {
		return nil, err
	}
	synced := make(chan error, 1)
	go func() { synced <- atomicfs.SyncTree(staging) }()
	waitSync := func() error {
		err, ok := <-synced
		if ok {
			close(synced)
		}
		return err
	}
	defer waitSync() // before the staging dir is removed

	archivePath := archive.Path(outDir, dir, format)
	var tmpArchive string
	if !opts.NoArchive {
		if err := fault(StepArchive); err != nil {
			return nil, err
		}
		tmpArchive, err = b.writeArchive(ctx, outDir, dir, res)
		if err != nil {
			return nil, err
		}
		defer func() {
			if tmpArchive != "" {
				_ = os.Remove(tmpArchive)
			}
		}()
	}

	if err := waitSync(); err != nil {
		return nil, err
	}

	// With an archive the provenance was written (and flushed together
	// with it) by b.writeArchive; without one it is written here.
	tmpProv := b.provTmp
	defer func() {
		if tmpProv != "" {
			_ = os.Remove(tmpProv)
		}
	}()
	if b.plan.Provenance != "" {
		if err := fault(StepProvenance); err != nil {
			return nil, err
		}
		if tmpProv == "" {
			start := time.Now()
			f, err := b.provenanceTemp(outDir, dir, res)
			if err != nil {
				return nil, err
			}
			tmpProv = f.Name()
			err = f.Sync()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			b.provTime += time.Since(start)
			if err != nil {
				return nil, fmt.Errorf("writing %q: %w", tmpProv, err)
			}
		}
	}

	if err := fault(StepSwapDir); err != nil {
		return nil, err
	}
	// Where the two cannot be exchanged atomically the previous bundle is
	// renamed aside first; recoverLeftovers restores it if the process dies
	// between the two renames.
	if err := atomicfs.Exchange(staging, res.Dir); err != nil {
		return nil, err
	}
	// staging now holds the previous bundle (or nothing): remove it below.
	if err := fault(StepSwapArch); err != nil {
		return nil, err
	}
	for _, f := range archive.Formats {
		if p := archive.Path(outDir, dir, f); opts.NoArchive || f != format {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("removing stale archive %q: %w", p, err)
			}
		}
	}
	if tmpArchive != "" {
		if err := os.Rename(tmpArchive, archivePath); err != nil {
			return nil, fmt.Errorf("renaming archive into place: %w", err)
		}
		tmpArchive = ""
		res.Archive = archivePath
	}
	if tmpProv != "" {
		prov := ProvenancePath(outDir, b.plan.Provenance)
		if err := os.Rename(tmpProv, prov); err != nil {
			return nil, fmt.Errorf("renaming provenance into place: %w", err)
		}
		tmpProv = ""
		res.Provenance = prov
	}
	if err := atomicfs.SyncDir(outDir); err != nil {
		return nil, err
	}
	if err := fault(StepCleanup); err != nil {
		return nil, err
	}
	_ = os.RemoveAll(staging)

	m := b.manifest
	res.Files = len(m.Files)
	for _, f := range m.Files {
		res.Bytes += f.Size
	}
	for _, r := range m.Repos {
		res.Packages += len(r.Packages)
	}
	res.Images, res.Templates = len(m.Images), len(m.Templates)
	res.Signed = len(opts.SignKey) > 0
	res.Linked, res.Cloned, res.Copied = b.placer.counts[Linked], b.placer.counts[Cloned], b.placer.counts[Copied]
	res.CachedHashes, res.ScannedHashes = b.placer.cacheHit, b.placer.scanHit
	res.ManifestSHA256 = b.manifestSum
	res.SBOMTime, res.ProvenanceTime = b.sbomTime, b.provTime
	return res, nil
}

// fileDigest is what Build knows of a file of the staging dir without
// reading it again: its digest, size and mode.
type fileDigest struct {
	sha  string
	size int64
	exec bool
}

type builder struct {
	plan        *compiler.Plan
	opts        Options
	staging     string
	rep         progress.Reporter
	placer      *placer
	mu          sync.Mutex
	digests     map[string]fileDigest // bundle path -> what Build knows of it
	inputs      []manifest.InputEntry
	repos       []manifest.RepoEntry
	images      []manifest.ImageInfo
	templates   []manifest.TemplateEntry
	manifest    *manifest.Manifest
	manifestSum string
	entries     []archive.Entry
	// rpmFacts are the repo writer's header facts by bundle path.
	rpmFacts           map[string]*RPMFacts
	sbomTime, provTime time.Duration
	// provTmp is the provenance's temporary file, once written.
	provTmp string
}

func (b *builder) jobs() int {
	if b.opts.Jobs > 0 {
		return b.opts.Jobs
	}
	return runtime.GOMAXPROCS(0)
}

func (b *builder) abs(rel string) string { return filepath.Join(b.staging, filepath.FromSlash(rel)) }
