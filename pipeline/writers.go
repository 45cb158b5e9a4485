package pipeline

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/repo"
	"github.com/bdebundle/bundle/repo/rpm"
	"github.com/bdebundle/bundle/sbom"
)

// writerOptions tune the writers Build calls.
type writerOptions struct {
	// repoSignKey, when set, signs each repomd.xml (repomd.xml.asc).
	repoSignKey *openpgp.Entity
	// offline forbids registry access while mirroring images.
	offline    bool
	updateLock bool
	insecure   []string
	// registryTimeout bounds each wait for a registry (0 = the defaults).
	registryTimeout time.Duration
	progress        progress.Reporter
	// prevLayout is the images/ layout of the previous build of this
	// bundle: its blobs are reused (re-hashed) instead of fetched, and
	// offline it supplies pinned registry images.
	prevLayout string
}

// writers returns out's writer hooks backed by the repo, images and ovf
// packages, using what Compile gathered.
func (r *Compiled) writers(opts writerOptions) (builder.RepoWriter, builder.ImageWriter, builder.TemplateWriter) {
	return &repoWriter{r, opts}, &imageWriter{r, opts}, &templateWriter{r, opts}
}

type repoWriter struct {
	r    *Compiled
	opts writerOptions
}

// WriteRepo writes repodata for the RPMs Compile scanned (the files Build
// placed in repoDir are the same bytes: their sha256 is checked there).
func (w *repoWriter) WriteRepo(ctx context.Context, repoDir string, rp *compiler.RepoPlan) (*builder.RepoInfo, error) {
	pkgs := w.r.Inputs.Packages[rp.Name]
	if len(pkgs) != len(rp.Packages) {
		return nil, fmt.Errorf("repo %q: %d packages planned but %d scanned", rp.Name, len(rp.Packages), len(pkgs))
	}
	placed := make([]*rpm.Package, len(pkgs))
	for i, p := range pkgs {
		cp := *p
		cp.Location = path.Base(rp.Packages[i].Dest)
		placed[i] = &cp
	}
	if err := repo.WriteRepodata(ctx, repoDir, placed, repo.WriteOptions{Timestamp: RepodataTime(placed), SignKey: w.opts.repoSignKey, NoSync: true}); err != nil {
		return nil, fmt.Errorf("writing repodata of repo %q: %w", rp.Name, err)
	}
	info := &builder.RepoInfo{}
	requires := w.r.bundleRequires()
	_, distros := w.r.sbomGraph()
	ns := sbom.Namespace(rp.Name, distros)
	for i, p := range placed {
		facts := &builder.RPMFacts{NEVRA: p.NEVRA,
			License: p.License, Vendor: p.Vendor, Packager: p.Packager, SourceRPM: p.SourceRPM, Namespace: ns,
			Requires: requires[rp.Packages[i].Dest]}
		info.Packages = append(info.Packages, builder.PackageInfo{NEVRA: p.NEVRA.String(), Location: p.Location, RPM: facts, Signatures: p.SignatureSummary()})
	}
	var keyURLs []string
	if len(rp.GPGKeys) > 0 {
		site := siteYumURL(rp)
		for _, k := range rp.GPGKeys {
			keyURLs = append(keyURLs, site+"/keys/"+path.Base(k.Dest))
		}
	}
	info.RepoFile = repo.RepoFile(rp.Name, rp.Name+" "+rp.Version, rp.BaseURL, keyURLs)
	return info, nil
}

// RepodataTime is the time a repo's metadata carries (its <revision>,
// every <timestamp>, each package's file time and the repomd.xml
// signature's time): the newest build time of its packages. It comes from
// the repo's content, not from the release, so a repo whose packages did
// not change keeps byte-identical repodata from one release to the next and
// deploy uploads none of it again.
func RepodataTime(pkgs []*rpm.Package) int64 {
	var t int64
	for _, p := range pkgs {
		t = max(t, p.BuildTime)
	}
	return t
}

// sbomGraph is the plan's repos (those fully scanned) and distros as
// sbom's dependency graph takes them.
func (r *Compiled) sbomGraph() ([]sbom.Repo, []sbom.Distro) {
	var repos []sbom.Repo
	for _, rp := range r.Plan.Repos {
		pkgs := r.Inputs.Packages[rp.Name]
		if len(pkgs) != len(rp.Packages) {
			continue
		}
		sr := sbom.Repo{Name: rp.Name}
		for i, dp := range rpm.DepPackages(pkgs) {
			sr.RPMs = append(sr.RPMs, sbom.Node{Path: rp.Packages[i].Dest, Dep: dp})
		}
		repos = append(repos, sr)
	}
	var distros []sbom.Distro
	for _, d := range r.Plan.Distros {
		distros = append(distros, sbom.Distro{Name: d.Name, Repos: d.Repos})
	}
	return repos, distros
}

// bundleRequires is the SBOM's dependency graph of every scanned RPM
// (sbom.Requires), computed once per build.
func (r *Compiled) bundleRequires() map[string][]string {
	r.requiresOnce.Do(func() {
		r.requires = sbom.Requires(r.sbomGraph())
	})
	return r.requires
}

// siteYumURL is the URL of serengeti/www/yum at the site, from the repo's
// base URL (…/yum/repos/<path>/<version>/).
func siteYumURL(rp *compiler.RepoPlan) string {
	if i := strings.Index(rp.BaseURL, "/repos/"); i > 0 {
		return rp.BaseURL[:i]
	}
	return strings.TrimSuffix(rp.BaseURL, "/")
}

type imageWriter struct {
	r    *Compiled
	opts writerOptions
}

// WriteImages mirrors every image into one OCI layout.
func (w *imageWriter) WriteImages(ctx context.Context, layoutDir string, plans []*compiler.ImagePlan) ([]manifest.ImageInfo, error) {
	if len(w.r.Inputs.ImageSpecs) == 0 {
		return nil, nil
	}
	if w.opts.prevLayout != "" {
		if err := linkTree(w.opts.prevLayout, layoutDir); err != nil {
			return nil, fmt.Errorf("reusing the previous image layout: %w", err)
		}
	}
	res, err := images.Mirror(ctx, layoutDir, w.r.Inputs.ImageSpecs, images.Options{Options: registry.Options{Insecure: w.opts.insecure, Timeout: w.opts.registryTimeout}, Offline: w.opts.offline, UpdateLock: w.opts.updateLock, Progress: w.opts.progress, Resolved: w.r.Inputs.Resolved})
	if err != nil {
		return nil, err
	}
	written := map[string]string{}
	for _, im := range w.r.Def.Images {
		written[im.Name] = im.Ref
	}
	facts := map[string]string{}
	if w.r.Facts != nil {
		for n, f := range w.r.Facts.Images {
			facts[n] = f.Digest
		}
	}
	var infos []manifest.ImageInfo
	for _, m := range res {
		if d, ok := facts[m.Name]; ok && d != m.Digest {
			return nil, fmt.Errorf("image %q: resolved to %s while compiling but mirrored %s; the source changed during the build", m.Name, d, m.Digest)
		}
		infos = append(infos, manifest.ImageInfo{Name: m.Name, Ref: written[m.Name], Repository: m.Repository, Digest: m.Digest, Platforms: m.Platforms})
	}
	return infos, nil
}

type templateWriter struct {
	r    *Compiled
	opts writerOptions
}

// WriteTemplate writes the template's descriptor and manifest (and its
// derived templates') in tp.Dir beside the disks Build placed there, and
// the .ova at tp.OVAPath, all under root.
func (w *templateWriter) WriteTemplate(ctx context.Context, root string, tp *compiler.TemplatePlan) error {
	dir := filepath.Join(root, filepath.FromSlash(tp.Dir))
	// Build has placed each disk at its Dest as a hard link, reflink or
	// copy of its input, as the user asked: the template is written from
	// those, and linking them into the new directory shares their inodes.
	staged := func(t ovf.Template) ovf.Template {
		t.Disks = slices.Clone(t.Disks)
		j := 0
		for i := range t.Disks {
			if t.Disks[i].Path == "" || j >= len(tp.Disks) {
				continue
			}
			p := filepath.Join(root, filepath.FromSlash(tp.Disks[j].Dest))
			j++
			if _, err := os.Stat(p); err == nil {
				t.Disks[i].Path = p
			}
		}
		return t
	}
	var derived []ovf.Template
	for _, d := range tp.Derived {
		derived = append(derived, staged(d.OVF))
	}
	if _, err := ovf.Write(ctx, dir, staged(tp.OVF), ovf.Options{Link: true, InPlace: true, Progress: w.opts.progress, Derived: derived}); err != nil {
		return err
	}
	ovaPath := filepath.Join(root, filepath.FromSlash(tp.OVAPath))
	f, err := os.Create(ovaPath)
	if err != nil {
		return fmt.Errorf("writing %q: %w", ovaPath, err)
	}
	if err := ovf.WriteOVA(ctx, f, dir, tp.Name, w.r.Plan.Epoch); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", ovaPath, err)
	}
	return nil
}

// linkTree fills dst with hard links (or copies) of the files under src, when
// src is an OCI layout. Mirror then finds the previous images in dst.
func linkTree(src, dst string) error {
	if _, err := os.Stat(filepath.Join(src, "index.json")); err != nil {
		return nil // no previous layout
	}
	return filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !e.Type().IsRegular() {
			return nil
		}
		if err := os.Link(p, target); err == nil {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
