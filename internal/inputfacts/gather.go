package inputfacts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bdebundle/bundle/hcl/sitedef"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/internal/cachedir"
	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/repo"
	"github.com/bdebundle/bundle/repo/rpm"
	"github.com/bdebundle/bundle/repo/rpmsig"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Registries says what Gather does with an image from a registry: the
// three modes of the verbs that gather facts.
type Registries int

const (
	// RegistriesCheck asks no registry: a registry image resolves, pinned
	// by the lock file, from the previous bundle's layout; one that does
	// not is a warning (validate, build --plan: a build with the network
	// resolves it).
	RegistriesCheck Registries = iota
	// RegistriesOffline asks no registry either, but an image that does
	// not resolve so is an error (build --offline, and validate --offline
	// and build --plan --offline, which refuse what it refuses).
	RegistriesOffline
	// RegistriesOnline asks registries (build).
	RegistriesOnline
)

// Options tune Gather.
type Options struct {
	Workers  int
	Progress progress.Reporter
	// Registries says how registry images resolve.
	Registries Registries
	// UpdateLock accepts image digests that differ from the lock file.
	UpdateLock bool
	// Insecure lists registry hosts reached over plain HTTP.
	Insecure []string
	// RegistryTimeout bounds each wait for a registry (images.Options
	// Timeout; 0 = the defaults).
	RegistryTimeout time.Duration
	// PrevLayout is the images/ layout of the previous build of the
	// bundle: it resolves pinned registry images without the network.
	PrevLayout string
	// CacheDir holds the scan cache (what was read from each RPM, so an
	// unchanged RPM is not read again); "" means $BUNDLE_CACHE_DIR,
	// $XDG_CACHE_HOME/bundle or ~/.cache/bundle. NoCache disables it.
	CacheDir string
	NoCache  bool
}

// Gathered is what Gather learned about a definition's inputs.
type Gathered struct {
	// Facts are the compiler's facts: the file facts (Files) and what was
	// read from RPMs, baseline repodata, the upgrade manifest and images.
	Facts *compiler.Facts
	// Packages are the scanned RPMs of each repo, by repo name, in the
	// order of the repo plan's Packages.
	Packages map[string][]*rpm.Package
	// ImageSpecs are the images to mirror, pinned by the lock file.
	ImageSpecs []images.Spec
	// Images are the resolved images (what Mirror will store).
	Images []images.Result
	// Resolved holds what resolving the registry images fetched, for
	// images.Mirror to use instead of asking the registries again (its
	// layers are fetched with the context given to Gather).
	Resolved *images.Resolutions
	// ScanCache counts the RPMs taken from the scan cache and read.
	ScanCache repo.ScanCacheStats
	// scanned are the RPMs the scan read, by absolute path: their stat
	// before the read and their sha256 (InputDigest).
	scanned map[string]scannedFile
}

// InputDigest answers out.BuildOptions.Digests from the RPM scan: the
// sha256 the scan computed of the file at abs, when fi (its stat as Build
// places it) shows the file the scan read, untouched since: the same size,
// modification and change times (any write or rename moves the change
// time), device and inode, as stat'ed before the scan read it. Where the
// system has no inode numbers (Windows) it never answers.
func (g *Gathered) InputDigest(abs string, fi fs.FileInfo) (string, bool) {
	s, ok := g.scanned[abs]
	if !ok || !sameFile(s.fi, fi) {
		return "", false
	}
	return s.sum, true
}

type scannedFile struct {
	fi  fs.FileInfo
	sum string
}

func sameFile(a, b fs.FileInfo) bool {
	ia, ok := osfs.ID(a)
	ib, okb := osfs.ID(b)
	return ok && okb && ia == ib && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) &&
		osfs.ChangeTime(a).Equal(osfs.ChangeTime(b))
}

// statScanned stats the files about to be scanned; files it cannot stat
// are left out (the scan reports them).
func statScanned(files []string) map[string]fs.FileInfo {
	m := make(map[string]fs.FileInfo, len(files))
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(abs); err == nil && fi.Mode().IsRegular() {
			m[f] = fi
		}
	}
	return m
}

// openScanCache opens the scan cache opts ask for; without a usable cache
// directory RPMs are simply read (the cache only saves time).
func openScanCache(opts Options) *repo.ScanCache {
	if opts.NoCache {
		slog.Debug("scan cache disabled", "reason", "--no-cache: every RPM is read")
		return nil
	}
	dir := cachedir.Dir(opts.CacheDir)
	if dir == "" {
		slog.Debug("scan cache disabled", "reason", "no cache directory ($BUNDLE_CACHE_DIR, $XDG_CACHE_HOME, home)")
		return nil
	}
	c, err := repo.OpenScanCache(dir)
	if err != nil {
		if errors.Is(err, cachedir.ErrNotPrivate) {
			slog.Warn("scan cache not used", "err", err)
		} else {
			slog.Debug("scan cache disabled", "err", err)
		}
		return nil
	}
	return c
}

// Gather collects the Facts of d's inputs, once: the files its globs and
// paths name (Files), RPM headers (and signatures, against the repo's
// gpg_keys), baseline repodata, the upgrade manifest, VM disk headers and
// image digests. Inputs that are missing are recorded as such; the compiler
// reports them. An input that cannot be read is an error diagnostic at the
// attribute naming it; the Gathered and its Facts are never nil.
func Gather(ctx context.Context, d *sitedef.Definition, opts Options) (*Gathered, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	facts := Files(d)
	res := &Gathered{Facts: facts, Packages: map[string][]*rpm.Package{}}
	scache := openScanCache(opts)
	defer func() { res.ScanCache = scache.Stats() }()
	for _, r := range d.Repos {
		var ring openpgp.EntityList
		for _, k := range r.GPGKeys {
			src := compiler.InputPath(r.Dir, k)
			if fi := facts.Paths[src]; !fi.Exists || fi.Dir {
				continue // the compiler reports it missing
			}
			kr, data, err := readKeyring(src)
			if err != nil {
				diags = append(diags, errDiag(AttrRange(r.Body, "gpg_keys", r.DeclRange), "Cannot read GPG key", err.Error()))
				continue
			}
			ring = append(ring, kr...)
			for _, rf := range rpmsig.ImportRefusals(data) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "GPG key rpm refuses to import",
					Subject: AttrRange(r.Body, "gpg_keys", r.DeclRange),
					Detail: fmt.Sprintf("%s: key %d (id %s): `rpmkeys --import` (rpm 4.18) refuses it: %s. "+
						"bundle verifies the packages with it, but a node whose rpm is 4.18 or newer cannot import it, "+
						"so dnf's gpgcheck of this repo fails there (yum on CentOS 5-7 imports it).", k, rf.Key, orUnknown(rf.KeyID), rf.Reason)})
			}
		}
		if diags.HasErrors() {
			continue
		}
		files := repoFiles(r, facts)
		before := statScanned(files)
		pkgs, err := scache.Scan(ctx, files, repo.ScanOptions{Workers: opts.Workers, Keyring: ring, Progress: opts.Progress})
		if err != nil {
			dg := errDiag(AttrRange(r.Body, "packages", r.DeclRange), "Bad package in repo "+r.Name, err.Error())
			if strings.Contains(dg.Detail, "trusted key") {
				dg.Detail = strings.TrimSuffix(dg.Detail, ".") + ". " + trustedKeys(ring, r.GPGKeys)
				compiler.MarkFollows(dg, compiler.RepoKeysCause(r.Name))
			}
			diags = append(diags, dg)
			continue
		}
		res.Packages[r.Name] = pkgs
		for i, pk := range pkgs {
			if i >= len(files) {
				break
			}
			if fi, ok := before[files[i]]; ok && pk != nil && fi.Size() == pk.Size {
				abs, _ := filepath.Abs(files[i])
				if res.scanned == nil {
					res.scanned = map[string]scannedFile{}
				}
				res.scanned[abs] = scannedFile{fi: fi, sum: pk.Checksum}
			}
		}
		facts.Packages[r.Name] = []compiler.PackageFact{}
		for _, pk := range pkgs {
			facts.Packages[r.Name] = append(facts.Packages[r.Name], packageFact(pk))
		}
	}
	if diags.HasErrors() {
		return res, diags
	}
	for _, ds := range d.Distros {
		if b := ds.Baseline; b != nil {
			for _, dir := range b.Repodata {
				base, err := repo.ReadRepodata(ctx, compiler.InputPath(ds.Dir, dir))
				if err != nil {
					diags = append(diags, errDiag(b.DeclRange.Ptr(), "Cannot read baseline repodata", err.Error()))
					continue
				}
				var pfs []compiler.PackageFact
				for _, bp := range base {
					pfs = append(pfs, packageFact(bp))
				}
				facts.Baselines[dir] = pfs
			}
		}
	}
	if u := d.Upgrade; u != nil && u.Manifest != "" {
		b, err := regular.ReadFile(compiler.InputPath(u.Dir, u.Manifest), sitedef.MaxFileSize)
		if err != nil {
			diags = append(diags, errDiag(AttrRange(u.Body, "manifest", u.DeclRange), "Cannot read manifest", err.Error()))
		} else {
			facts.Manifests[u.Manifest] = b
		}
	}
	diags = append(diags, res.gatherImages(ctx, d, opts)...)
	return res, diags
}

// repoFiles returns the distinct RPM files r's patterns matched, in the
// order the plan lists them (by file name).
func repoFiles(r *sitedef.Repo, facts *compiler.Facts) []string {
	seen := map[string]bool{}
	var files []string
	for _, pat := range r.Packages {
		for _, f := range facts.Globs[compiler.InputPath(r.Dir, pat)].Files {
			if !seen[f.Path] {
				seen[f.Path] = true
				files = append(files, f.Path)
			}
		}
	}
	sort.SliceStable(files, func(i, j int) bool {
		if bi, bj := filepath.Base(files[i]), filepath.Base(files[j]); bi != bj {
			return bi < bj
		}
		return files[i] < files[j]
	})
	return files
}

// packageFact is what the compiler needs of a scanned package.
func packageFact(pk *rpm.Package) compiler.PackageFact {
	pf := compiler.PackageFact{NEVRA: pk.NEVRA,
		Provides: pk.Provides, Requires: pk.Requires}
	for _, f := range pk.Files {
		pf.Files = append(pf.Files, f.Path)
	}
	return pf
}

func readKeyring(p string) (openpgp.EntityList, []byte, error) {
	data, err := regular.ReadFile(p, sitedef.MaxFileSize)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %q: %w", p, err)
	}
	kr, err := rpmsig.ReadKeys(data)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %q: not an OpenPGP public key: %w", p, err)
	}
	return kr, data, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unreadable"
	}
	return s
}

// trustedKeys says which keys a repo's signatures are checked against:
// the key ids of ring and the files they came from.
func trustedKeys(ring openpgp.EntityList, files []string) string {
	var ids []string
	for _, e := range ring {
		if e.PrimaryKey != nil {
			ids = append(ids, strings.ToLower(e.PrimaryKey.KeyIdString()))
		}
		for _, sk := range e.Subkeys {
			if sk.PublicKey != nil {
				ids = append(ids, strings.ToLower(sk.PublicKey.KeyIdString()))
			}
		}
	}
	if len(ids) == 0 {
		return fmt.Sprintf("No key of gpg_keys (%s) could be read, so no key is trusted.", strings.Join(files, ", "))
	}
	return fmt.Sprintf("The trusted keys are %s (from gpg_keys %s); add the key that signed the package to gpg_keys.", strings.Join(ids, ", "), strings.Join(files, ", "))
}

// AttrRange is where attribute name of a block's body is, else fallback:
// the place of a diagnostic about what the attribute names.
func AttrRange(body hcl.Body, name string, fallback hcl.Range) *hcl.Range {
	if sb, ok := body.(*hclsyntax.Body); ok {
		if a, ok := sb.Attributes[name]; ok {
			return a.SrcRange.Ptr()
		}
	}
	return fallback.Ptr()
}

func errDiag(subject *hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject}
}

// FileFacts is the part of f that does not depend on reading the inputs'
// contents: what is at each path and glob, the disk headers, and the
// manifests that were read.
func FileFacts(f *compiler.Facts) *compiler.Facts {
	return &compiler.Facts{Globs: f.Globs, Paths: f.Paths, Disks: f.Disks, Manifests: f.Manifests,
		Packages: map[string][]compiler.PackageFact{}, Baselines: map[string][]compiler.PackageFact{}, Images: map[string]compiler.ImageFact{}}
}
