package out

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/outfile"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"golang.org/x/sync/errgroup"
)

// Build steps, in order. BuildOptions.Fault is called with each before it runs.
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

// BuildOptions tune Build. The zero value builds a tar.zst archive, uses the
// hash cache and hard links, and skips repodata, images and templates.
type BuildOptions struct {
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
	// ScannedHashes are the digests BuildOptions.Digests supplied.
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
func Build(ctx context.Context, plan *compiler.Plan, outDir string, opts BuildOptions) (*Result, error) {
	if plan == nil {
		return nil, errors.New("building bundle: no plan")
	}
	format, err := archive.ParseFormat(string(opts.Format))
	if err != nil {
		return nil, err
	}
	opts.Format = format
	if err := CheckPlan(plan); err != nil {
		return nil, err
	}
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

	b := &builder{plan: plan, opts: opts, staging: staging, known: map[string]known{}, rep: rep}
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
			b.vsTime += time.Since(start)
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
	res.CachedHashes, res.ScannedHashes = b.placer.cacheHit, b.placer.knownHit
	res.ManifestSHA256 = b.manifestSum
	res.SBOMTime, res.ProvenanceTime = b.sbomTime, b.vsTime
	return res, nil
}

// known is a file of the staging dir whose digest Build already has.
type known struct {
	sha  string
	size int64
	exec bool
}

type builder struct {
	plan        *compiler.Plan
	opts        BuildOptions
	staging     string
	rep         progress.Reporter
	placer      *placer
	mu          sync.Mutex
	known       map[string]known // bundle path -> digest
	inputs      []manifest.InputEntry
	repos       []manifest.RepoEntry
	images      []manifest.ImageInfo
	templates   []manifest.TemplateEntry
	manifest    *manifest.Manifest
	manifestSum string
	entries     []archive.Entry
	// rpmFacts are the repo writer's header facts by bundle path.
	rpmFacts         map[string]*RPMFacts
	sbomTime, vsTime time.Duration
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

// planInputs lists every input of the plan.
func planInputs(p *compiler.Plan) []*compiler.Input {
	var ins []*compiler.Input
	for _, r := range p.Repos {
		ins = append(ins, r.Packages...)
		ins = append(ins, r.GPGKeys...)
	}
	for _, t := range p.Templates {
		ins = append(ins, t.Disks...)
	}
	return ins
}

// CheckPlan refuses plans that would write outside the bundle or twice to
// one path. Build calls it first; pipeline.Compile calls it on every plan,
// so validate refuses whatever it refuses.
func CheckPlan(p *compiler.Plan) error {
	if p.Name == "" || p.Version == "" || strings.ContainsAny(p.Dir(), "/\\") || strings.HasPrefix(p.Dir(), ".") {
		return fmt.Errorf("building bundle: invalid name %q or version %q", p.Name, p.Version)
	}
	if p.Epoch < 0 {
		return fmt.Errorf("building bundle: negative epoch %d", p.Epoch)
	}
	seen := map[string]string{}
	claim := func(dest, what string) error {
		if err := manifest.CheckRelPath(dest); err != nil {
			return fmt.Errorf("building bundle: %s: %w", what, err)
		}
		if manifest.IsMetaFile(dest) {
			return fmt.Errorf("building bundle: %s writes %q, which is reserved for bundle metadata", what, dest)
		}
		if prev, ok := seen[dest]; ok && prev != what {
			return fmt.Errorf("building bundle: %s and %s both write %q", prev, what, dest)
		}
		seen[dest] = what
		return nil
	}
	for _, in := range planInputs(p) {
		if err := claim(in.Dest, "input "+in.Src); err != nil {
			return err
		}
	}
	for _, f := range p.Files {
		if err := claim(f.Path, "rendered file "+f.Path); err != nil {
			return err
		}
	}
	if p.SBOM != "" {
		if err := claim(p.SBOM, "the SBOM"); err != nil {
			return err
		}
	}
	if p.Provenance != "" && (p.Provenance != filepath.Base(p.Provenance) || strings.HasPrefix(p.Provenance, ".") || manifest.CheckRelPath(p.Provenance) != nil) {
		return fmt.Errorf("building bundle: provenance file %q must be a plain file name", p.Provenance)
	}
	for _, r := range p.Repos {
		if err := manifest.CheckRelPath(r.Dir); err != nil {
			return fmt.Errorf("building bundle: repo %q: %w", r.Name, err)
		}
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
	b.placer = &placer{cache: cache, known: b.opts.Digests, noLink: b.opts.NoHardLinks, task: task}
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
			b.known[in.Dest] = known{sha: sum, size: size}
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

func (b *builder) writeFiles(ctx context.Context) error {
	for _, f := range b.plan.Files {
		exec := f.Mode&0o111 != 0
		mode := os.FileMode(0o644)
		if exec {
			mode = 0o755
		}
		if err := writeFileExcl(b.abs(f.Path), f.Data, mode); err != nil {
			return err
		}
		sum := sha256.Sum256(f.Data)
		b.known[f.Path] = known{sha: hex.EncodeToString(sum[:]), size: int64(len(f.Data)), exec: exec}
	}
	return nil
}

func (b *builder) writeRepos(ctx context.Context) error {
	for _, rp := range b.plan.Repos {
		entry := manifest.RepoEntry{Name: rp.Name, Version: rp.Version, Dir: rp.Dir}
		repoDir := b.abs(rp.Dir)
		if err := os.MkdirAll(repoDir, 0o755); err != nil {
			return fmt.Errorf("creating %q: %w", repoDir, err)
		}
		var pkgs []PackageInfo
		if b.opts.Repos != nil {
			info, err := b.opts.Repos.WriteRepo(ctx, repoDir, rp)
			if err != nil {
				return fmt.Errorf("writing repository %q: %w", rp.Name, err)
			}
			if info == nil {
				info = &RepoInfo{}
			}
			pkgs = info.Packages
			if info.RepoFile != nil && rp.RepoFile != "" {
				if _, err := os.Lstat(b.abs(rp.RepoFile)); errors.Is(err, fs.ErrNotExist) {
					if err := writeFileExcl(b.abs(rp.RepoFile), info.RepoFile, 0o644); err != nil {
						return err
					}
				}
			}
		} else {
			// Without a repository writer the RPMs are carried as they
			// are; their NEVRAs come from the conventional file names.
			for _, in := range rp.Packages {
				base := path.Base(in.Dest)
				pkgs = append(pkgs, PackageInfo{NEVRA: strings.TrimSuffix(base, ".rpm"), Location: base})
			}
		}
		if rp.RepoFile != "" {
			if _, err := os.Lstat(b.abs(rp.RepoFile)); err == nil {
				entry.RepoFile = rp.RepoFile
			}
		}
		for _, p := range pkgs {
			if err := manifest.CheckRelPath(p.Location); err != nil {
				return fmt.Errorf("writing repository %q: package %w", rp.Name, err)
			}
			entry.Packages = append(entry.Packages, manifest.PackageEntry{NEVRA: p.NEVRA, Location: p.Location, Signatures: p.Signatures})
			if p.RPM != nil {
				if b.rpmFacts == nil {
					b.rpmFacts = map[string]*RPMFacts{}
				}
				b.rpmFacts[rp.Dir+"/"+p.Location] = p.RPM
			}
		}
		b.repos = append(b.repos, entry)
	}
	return nil
}

func (b *builder) writeImages(ctx context.Context) error {
	if b.opts.Images == nil || len(b.plan.Images) == 0 {
		return nil
	}
	layout := b.imageLayout()
	if err := manifest.CheckRelPath(layout); err != nil {
		return fmt.Errorf("writing images: image layout %w", err)
	}
	dir := b.abs(layout)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", dir, err)
	}
	infos, err := b.opts.Images.WriteImages(ctx, dir, b.plan.Images)
	if err != nil {
		return fmt.Errorf("writing images: %w", err)
	}
	b.images = infos
	return b.writeDockerArchives(ctx)
}

// imageLayout is the plan's image layout; a plan made by hand with images
// but no ImageLayout gets the compiler's.
func (b *builder) imageLayout() string {
	if b.plan.ImageLayout == "" {
		return manifest.ImagesDir
	}
	return b.plan.ImageLayout
}

func (b *builder) writeTemplates(ctx context.Context) error {
	if b.opts.Templates == nil {
		return nil
	}
	for _, tp := range b.plan.Templates {
		files := []string{tp.OVFPath, tp.MFPath, tp.OVAPath}
		for _, d := range tp.Derived {
			if d.Name == "" {
				return fmt.Errorf("writing template %q: a derived template has no name", tp.Name)
			}
			files = append(files, d.OVFPath, d.MFPath)
		}
		for _, p := range append([]string{tp.Dir}, files...) {
			if err := manifest.CheckRelPath(p); err != nil {
				return fmt.Errorf("writing template %q: %w", tp.Name, err)
			}
		}
		for _, p := range files {
			if dir := path.Dir(p); dir != "." {
				if err := os.MkdirAll(b.abs(dir), 0o755); err != nil {
					return fmt.Errorf("creating %q: %w", b.abs(dir), err)
				}
			}
		}
		if err := b.opts.Templates.WriteTemplate(ctx, b.staging, tp); err != nil {
			return fmt.Errorf("writing template %q: %w", tp.Name, err)
		}
		for _, p := range files {
			if fi, err := os.Lstat(b.abs(p)); err != nil || !fi.Mode().IsRegular() {
				return fmt.Errorf("writing template %q: the template writer did not write %s", tp.Name, p)
			}
		}
		b.templates = append(b.templates, manifest.TemplateEntry{Name: tp.Name, OVF: tp.OVFPath, OVA: tp.OVAPath})
		for _, d := range tp.Derived {
			b.templates = append(b.templates, manifest.TemplateEntry{Name: d.Name, OVF: d.OVFPath, Base: tp.Name, Cluster: d.Cluster, NodeGroup: d.NodeGroup})
		}
	}
	return nil
}

// scan walks the staging dir, hashing files not yet known, normalizing
// modes, and refusing anything but regular files and directories.
func (b *builder) scan(ctx context.Context) ([]manifest.FileEntry, error) {
	var todo []string
	var files []manifest.FileEntry
	err := filepath.WalkDir(b.staging, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(b.staging, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			if rel != "." {
				return os.Chmod(p, 0o755)
			}
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("building bundle: %q is not a regular file (%s); bundles hold only files and directories", rel, d.Type())
		case manifest.IsMetaFile(rel):
			return fmt.Errorf("building bundle: %q was written by a part of the build; it is reserved for bundle metadata", rel)
		}
		if err := manifest.CheckRelPath(rel); err != nil {
			return fmt.Errorf("building bundle: %w", err)
		}
		if _, ok := b.known[rel]; !ok {
			todo = append(todo, rel)
		}
		files = append(files, manifest.FileEntry{Path: rel})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var total int64
	for _, rel := range todo {
		if fi, err := os.Stat(b.abs(rel)); err == nil {
			total += fi.Size()
		}
	}
	var task progress.Task = progress.Discard.Start("", 0)
	if len(todo) > 0 {
		task = b.rep.Start("hashing generated files", total)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.jobs())
	for _, rel := range todo {
		g.Go(func() error {
			fi, err := os.Stat(b.abs(rel))
			if err != nil {
				return err
			}
			sum, size, err := ctxio.SHA256File(gctx, b.abs(rel), task)
			if err != nil {
				return err
			}
			b.mu.Lock()
			b.known[rel] = known{sha: sum, size: size, exec: fi.Mode().Perm()&0o111 != 0}
			b.mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	task.Done(err)
	if err != nil {
		return nil, err
	}
	for i := range files {
		k := b.known[files[i].Path]
		files[i].SHA256, files[i].Size, files[i].Mode = k.sha, k.size, manifest.ModeString(k.exec)
		want := os.FileMode(0o644)
		if k.exec {
			want = 0o755
		}
		p := b.abs(files[i].Path)
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.Size() != k.size {
			return nil, fmt.Errorf("building bundle: %q changed size while building", files[i].Path)
		}
		if fi.Mode().Perm() != want {
			if err := os.Chmod(p, want); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

func (b *builder) writeManifest(ctx context.Context) error {
	files, err := b.scan(ctx)
	if err != nil {
		return err
	}
	if b.plan.SBOM != "" {
		f, err := b.writeSBOM(files)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	p := b.plan
	secret := map[string]bool{}
	for _, f := range p.Files {
		if f.Sensitive {
			secret[f.Path] = true
		}
	}
	for _, tp := range p.Templates {
		for _, d := range tp.Derived {
			if slices.Contains(slices.Collect(maps.Values(d.Properties)), compiler.Redacted) {
				for _, t := range b.templates {
					if t.Name == d.Name {
						secret[t.OVF] = true
					}
				}
			}
		}
	}
	byPath := map[string]manifest.FileEntry{}
	for i, f := range files {
		files[i].Sensitive = secret[f.Path]
		byPath[f.Path] = files[i]
	}
	m := &manifest.Manifest{Schema: manifest.Schema, Name: p.Name, Version: p.Version, Epoch: p.Epoch,
		Builder: builderString(b.opts.BuilderVersion), DefinitionSHA256: p.DefinitionDigest,
		Inputs: b.inputs, Files: files, Images: b.images}
	for _, r := range b.repos {
		for i := range r.Packages {
			pk := &r.Packages[i]
			f, ok := byPath[r.Dir+"/"+pk.Location]
			if !ok {
				return fmt.Errorf("writing repository %q: package %q is not in the repo directory", r.Name, pk.Location)
			}
			pk.Size, pk.SHA256 = f.Size, f.SHA256
		}
		m.Repos = append(m.Repos, r)
	}
	for _, t := range b.templates {
		if t.OVF != "" {
			f, ok := byPath[t.OVF]
			if !ok {
				return fmt.Errorf("writing template %q: %q was not written", t.Name, t.OVF)
			}
			t.SHA256 = f.SHA256
		}
		if _, ok := byPath[t.OVA]; t.OVA != "" && !ok {
			return fmt.Errorf("writing template %q: %q was not written", t.Name, t.OVA)
		}
		m.Templates = append(m.Templates, t)
	}
	for _, d := range p.Distros {
		m.Distros = append(m.Distros, manifest.DistroEntry{Name: d.Name, Vendor: d.Vendor, Version: d.Version,
			Roles: append([]string(nil), d.Roles...), Repos: append([]string(nil), d.Repos...)})
	}
	for _, c := range p.Clusters {
		ce := manifest.ClusterEntry{Name: c.Name, Distro: c.Distro}
		if c.Moves && c.Running != nil {
			ce.MovesFrom = c.Running.Version
		}
		for _, g := range c.NodeGroups {
			attrs := map[string]string{}
			if g.StorageProfile != "" {
				attrs["storage_profile"] = g.StorageProfile
			}
			for k, v := range g.Attributes {
				attrs[k] = v
			}
			ce.NodeGroups = append(ce.NodeGroups, manifest.NodeGroupEntry{Name: g.Name, Roles: append([]string(nil), g.Roles...), Instances: g.Instances, Attributes: attrs})
		}
		for _, a := range p.Apps {
			if a.Cluster != c.Name {
				continue
			}
			var cons [][]string
			for _, c := range a.Constraints {
				cons = append(cons, append([]string(nil), c...))
			}
			ce.Apps = append(ce.Apps, manifest.AppEntry{Name: a.Name, ID: a.ID, Instances: a.Instances, Constraints: cons, Image: a.Image})
		}
		m.Clusters = append(m.Clusters, ce)
	}
	m.SiteRegistry = p.Registry
	for _, t := range p.Targets {
		m.Targets = append(m.Targets, manifest.TargetEntry{Name: t.Name, Datacenter: t.Datacenter, Datastore: t.Datastore, Folder: t.Folder,
			Library: t.Library, ResourcePool: t.ResourcePool, Network: t.Network, DatastorePath: t.DatastorePath,
			Registry: t.Registry, ManagementServer: t.ManagementServer})
	}
	data, err := m.Encode()
	if err != nil {
		return err
	}
	if err := writeFileExcl(b.abs(manifest.FileName), data, 0o644); err != nil {
		return err
	}
	sums := manifest.Sums(m.Files)
	if err := writeFileExcl(b.abs(manifest.SumsName), sums, 0o644); err != nil {
		return err
	}
	meta := []archive.Entry{{Path: manifest.FileName, Size: int64(len(data))}, {Path: manifest.SumsName, Size: int64(len(sums))}}
	if len(b.opts.SignKey) > 0 {
		sig, err := manifest.Sign(data, b.opts.SignKey, b.opts.SignPassphrase, p.Epoch)
		if err != nil {
			return err
		}
		if err := writeFileExcl(b.abs(manifest.SignatureName), sig, 0o644); err != nil {
			return err
		}
		meta = append(meta, archive.Entry{Path: manifest.SignatureName, Size: int64(len(sig))})
	}
	sum := sha256.Sum256(data)
	b.manifestSum = hex.EncodeToString(sum[:])
	b.manifest = m
	for _, f := range m.Files {
		b.entries = append(b.entries, archive.Entry{Path: f.Path, Size: f.Size, Exec: f.Executable()})
	}
	b.entries = append(b.entries, meta...)
	sort.Slice(b.entries, func(i, j int) bool { return b.entries[i].Path < b.entries[j].Path })
	return nil
}

func builderString(v string) string {
	switch {
	case v == "":
		return "bundle"
	case strings.HasPrefix(v, "bundle "):
		return v
	}
	return "bundle " + v
}

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
		b.vsTime += time.Since(start)
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
		b.vsTime += provAt.Sub(archiveAt) // what the provenance's flush added
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
