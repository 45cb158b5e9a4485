package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/compiler"
	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/internal/cachedir"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/repo"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Options tune gathering.
type Options struct {
	Workers  int
	Progress progress.Reporter
	// Registry allows asking registries for image manifests (build, lock);
	// without it registry references resolve only from PrevLayout.
	Registry bool
	// UpdateLock accepts image digests that differ from the lock file.
	UpdateLock bool
	// Insecure lists registry hosts reached over plain HTTP.
	Insecure []string
	// Build says the result will be built: images that cannot be resolved
	// are then errors, not warnings.
	Build bool
	// OutDir is where the bundle is built: the previous build's images/
	// layout there resolves pinned registry images without the network.
	OutDir string
	// CacheDir holds the scan cache (what was read from each RPM, so an
	// unchanged RPM is not read again); "" means $BUNDLE_CACHE_DIR,
	// $XDG_CACHE_HOME/bundle or ~/.cache/bundle. NoCache disables it.
	CacheDir string
	NoCache  bool
}

// Result is a compiled definition with what was gathered about its inputs.
type Result struct {
	Def   *def.Definition
	Plan  *compiler.Plan
	Facts *compiler.Facts
	// Packages are the scanned RPMs of each repo, by repo name, in the
	// order of the repo plan's Packages.
	Packages map[string][]*repo.Package
	// ImageSpecs are the images to mirror, pinned by the lock file.
	ImageSpecs []images.Spec
	// Images are the resolved images (what Mirror will store).
	Images []images.Result
	// PrevLayout is the images/ layout of the previous build, if known.
	PrevLayout string
	// ScanCache counts the RPMs taken from the scan cache and read.
	ScanCache repo.ScanCacheStats

	requiresOnce sync.Once
	requires     map[string][]string
}

// Compile loads the definition at p, gathers facts about its inputs and
// compiles it. The Result is non-nil whenever the definition loaded (its Def
// carries the files needed to render the diagnostics).
func Compile(ctx context.Context, p string, lopts def.Options, opts Options) (*Result, hcl.Diagnostics) {
	d, diags := def.Load(p, lopts)
	res := &Result{Def: d, Packages: map[string][]*repo.Package{}}
	if diags.HasErrors() {
		return res, diags
	}
	// A first compile checks the definition and expands the inputs.
	plan, cds := compiler.Compile(d, nil)
	if cds.HasErrors() {
		return res, append(diags, cds...)
	}
	if opts.OutDir != "" {
		res.PrevLayout = filepath.Join(opts.OutDir, plan.Dir(), "images")
	}
	facts, gds := gather(ctx, d, plan, res, opts)
	diags = append(diags, gds...)
	if gds.HasErrors() {
		return res, diags
	}
	res.Facts = facts
	plan, cds = compiler.Compile(d, facts)
	res.Plan = plan
	return res, append(diags, cds...)
}

// openScanCache opens the scan cache opts ask for; without a usable cache
// directory RPMs are simply read (the cache only saves time).
func openScanCache(opts Options) *repo.ScanCache {
	if opts.NoCache {
		return nil
	}
	dir := cachedir.Dir(opts.CacheDir)
	if dir == "" {
		return nil
	}
	c, err := repo.OpenScanCache(dir)
	if err != nil {
		slog.Debug("scan cache disabled", "err", err)
		return nil
	}
	return c
}

func attrRange(body hcl.Body, name string, fallback hcl.Range) *hcl.Range {
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

func gather(ctx context.Context, d *def.Definition, plan *compiler.Plan, res *Result, opts Options) (*compiler.Facts, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	facts := &compiler.Facts{Packages: map[string][]compiler.PackageFact{}, Images: map[string]compiler.ImageFact{}, Manifests: map[string][]byte{}}
	scache := openScanCache(opts)
	defer func() { res.ScanCache = scache.Stats() }()
	repos := map[string]*def.Repo{}
	for _, r := range d.Repos {
		repos[r.Name] = r
	}
	for _, rp := range plan.Repos {
		r := repos[rp.Name]
		var ring openpgp.EntityList
		if len(rp.GPGKeys) > 0 {
			for _, k := range rp.GPGKeys {
				kr, err := readKeyring(k.Src)
				if err != nil {
					diags = append(diags, errDiag(attrRange(r.Body, "gpg_keys", r.DeclRange), "Cannot read GPG key", err.Error()))
					continue
				}
				ring = append(ring, kr...)
			}
			if diags.HasErrors() {
				continue
			}
		}
		paths := make([]string, len(rp.Packages))
		for i, in := range rp.Packages {
			paths[i] = in.Src
		}
		pkgs, err := scache.Scan(ctx, paths, repo.ScanOptions{Workers: opts.Workers, Keyring: ring, Progress: opts.Progress})
		if err != nil {
			diags = append(diags, errDiag(attrRange(r.Body, "packages", r.DeclRange), "Bad package in repo "+rp.Name, err.Error()))
			continue
		}
		res.Packages[rp.Name] = pkgs
		for _, pk := range pkgs {
			pf := compiler.PackageFact{Name: pk.Name, Epoch: pk.Epoch, Version: pk.Version, Release: pk.Release, Arch: pk.Arch}
			for _, pr := range pk.Provides {
				pf.Provides = append(pf.Provides, pr.String())
			}
			facts.Packages[rp.Name] = append(facts.Packages[rp.Name], pf)
		}
	}
	if diags.HasErrors() {
		return facts, diags
	}
	for _, ds := range d.Distros {
		diags = append(diags, closure(ctx, ds, res.Packages)...)
		if ds.Manifest != "" {
			p := ds.Manifest
			if !filepath.IsAbs(p) {
				p = filepath.Join(ds.Dir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				diags = append(diags, errDiag(attrRange(ds.Body, "manifest", ds.DeclRange), "Cannot read manifest", err.Error()))
				continue
			}
			facts.Manifests[ds.Manifest] = b
		}
	}
	for _, t := range d.VMTemplates {
		tp := findTemplate(plan, t.Name)
		if tp == nil {
			continue
		}
		// Check reads each disk's header and checks the whole template.
		if err := ovf.Check(tp.OVF); err != nil {
			diags = append(diags, errDiag(t.DeclRange.Ptr(), "Invalid VM template", err.Error()))
		}
	}
	ids, imgFacts := gatherImages(ctx, d, plan, res, opts)
	diags = append(diags, ids...)
	for k, v := range imgFacts {
		facts.Images[k] = v
	}
	return facts, diags
}

func findTemplate(p *compiler.Plan, name string) *compiler.TemplatePlan {
	for _, t := range p.Templates {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func readKeyring(p string) (openpgp.EntityList, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	defer f.Close()
	kr, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		if _, serr := f.Seek(0, 0); serr == nil {
			if kr2, err2 := openpgp.ReadKeyRing(f); err2 == nil {
				return kr2, nil
			}
		}
		return nil, fmt.Errorf("reading %q: not an OpenPGP public key: %w", p, err)
	}
	return kr, nil
}

// closure checks that every requirement of the distro's packages is met by
// its repos and baseline.
func closure(ctx context.Context, ds *def.Distro, scanned map[string][]*repo.Package) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var pkgs []*repo.Package
	for _, r := range ds.Repos {
		pkgs = append(pkgs, scanned[r.Name]...)
	}
	var baseline []repo.Dep
	if b := ds.Baseline; b != nil {
		for _, p := range b.Provides {
			baseline = append(baseline, parseDep(p))
		}
		for _, dir := range b.Repodata {
			full := dir
			if !filepath.IsAbs(full) {
				full = filepath.Join(ds.Dir, dir)
			}
			base, err := repo.ReadRepodata(ctx, full)
			if err != nil {
				diags = append(diags, errDiag(b.DeclRange.Ptr(), "Cannot read baseline repodata", err.Error()))
				continue
			}
			for _, bp := range base {
				baseline = append(baseline, repo.Dep{Name: bp.Name, Flags: "EQ", Epoch: bp.Epoch, Version: bp.Version, Release: bp.Release})
				baseline = append(baseline, bp.Provides...)
				for _, f := range bp.Files {
					baseline = append(baseline, repo.Dep{Name: f.Path})
				}
			}
		}
	}
	// One diagnostic per missing capability, naming every package that
	// needs it: a capability hundreds of packages require is one message.
	for _, u := range repo.GroupByRequirement(repo.Unresolved(pkgs, baseline)) {
		sev := hcl.DiagError
		for _, pat := range ds.AllowUnresolved {
			if ok, _ := path.Match(pat, depName(u.Requirement)); ok {
				sev = hcl.DiagWarning
			}
		}
		who := u.Packages[0] + " requires " + u.Requirement
		if n := len(u.Packages); n > 1 {
			who = fmt.Sprintf("%d packages require %s (%s)", n, u.Requirement, namesUpTo(u.Packages, maxNamed))
		}
		diags = append(diags, &hcl.Diagnostic{Severity: sev, Summary: "Unresolved dependency",
			Detail: fmt.Sprintf("%s, which no package of distro %q's repos (%s) nor its baseline provides. Add the package to a repo, list the capability in baseline { provides = [...] }, or match it in allow_unresolved.",
				who, ds.Name, repoNames(ds)),
			Subject: attrRange(ds.Body, "repos", ds.DeclRange)})
	}
	return diags
}

// maxNamed is how many requiring packages an unresolved-dependency
// diagnostic names before it gives the rest as a count.
const maxNamed = 20

func namesUpTo(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

func repoNames(ds *def.Distro) string {
	var ns []string
	for _, r := range ds.Repos {
		ns = append(ns, r.Name)
	}
	return strings.Join(ns, ", ")
}

func depName(req string) string {
	n, _, _ := strings.Cut(strings.TrimPrefix(req, "("), " ")
	return n
}

// parseDep parses "name", or "name OP evr" with OP one of = < > <= >=.
func parseDep(s string) repo.Dep {
	f := strings.Fields(s)
	if len(f) != 3 {
		return repo.Dep{Name: strings.TrimSpace(s)}
	}
	flags := map[string]string{"=": "EQ", "==": "EQ", "<": "LT", ">": "GT", "<=": "LE", ">=": "GE"}[f[1]]
	if flags == "" {
		return repo.Dep{Name: strings.TrimSpace(s)}
	}
	d := repo.Dep{Name: f[0], Flags: flags}
	evr := f[2]
	if e, rest, ok := strings.Cut(evr, ":"); ok {
		d.Epoch, evr = e, rest
	}
	d.Version, d.Release, _ = strings.Cut(evr, "-")
	return d
}
