package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/bdebundle/bundle/out/manifest"
)

// The build steps that fill the staging directory from the plan: the
// rendered files, and the repo, image and template writers.

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
		b.digests[f.Path] = fileDigest{sha: hex.EncodeToString(sum[:]), size: int64(len(f.Data)), exec: exec}
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
