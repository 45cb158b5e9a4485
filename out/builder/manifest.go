package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"golang.org/x/sync/errgroup"
)

// The plan mapped to bundle.json: the staging directory scanned (modes
// normalized, digests of files not yet known), then bundle.json,
// SHA256SUMS and the signature written.

// scan walks the staging dir, hashing files not in b.digests, normalizing
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
		if _, ok := b.digests[rel]; !ok {
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
			b.digests[rel] = fileDigest{sha: sum, size: size, exec: fi.Mode().Perm()&0o111 != 0}
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
		k := b.digests[files[i].Path]
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
		for _, j := range p.Jobs {
			if j.Cluster == c.Name {
				ce.Jobs = append(ce.Jobs, manifest.JobEntry{Name: j.Name, Schedule: j.Schedule, Parents: append([]string(nil), j.Parents...), Image: j.Image})
			}
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
