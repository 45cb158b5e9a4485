package out

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bdebundle/bundle/repo"
	"github.com/bdebundle/bundle/sbom"
)

// sbomBundle collects what the SBOM names from the staged bundle: the
// packages the repo writer described, the images and their per-platform
// manifests (read from the staged layout), the templates with their parts,
// and every other file.
func (b *builder) sbomBundle(files []FileEntry) (*sbom.Bundle, error) {
	p := b.plan
	sb := &sbom.Bundle{Name: p.Name, Version: p.Version, Epoch: p.Epoch, Builder: builderString(b.opts.BuilderVersion),
		DefinitionSHA256: p.DefinitionDigest}
	byPath := make(map[string]FileEntry, len(files))
	for _, f := range files {
		byPath[f.Path] = f
	}
	covered := map[string]bool{p.SBOM: true}
	for _, r := range b.repos {
		for _, pk := range r.Packages {
			fp := r.Dir + "/" + pk.Location
			f, ok := byPath[fp]
			if !ok {
				return nil, fmt.Errorf("writing %s: package %q of repo %q is not in the bundle", p.SBOM, pk.Location, r.Name)
			}
			covered[fp] = true
			rpm := sbom.RPM{Path: fp, Repo: r.Name, Size: f.Size, SHA256: f.SHA256, Namespace: r.Name}
			if facts := b.rpmFacts[fp]; facts != nil {
				rpm.Name, rpm.Epoch, rpm.Version, rpm.Release, rpm.Arch = facts.Name, facts.Epoch, facts.Version, facts.Release, facts.Arch
				rpm.License, rpm.Vendor, rpm.Packager, rpm.SourceRPM = facts.License, facts.Vendor, facts.Packager, facts.SourceRPM
				if facts.Namespace != "" {
					rpm.Namespace = facts.Namespace
				}
				rpm.Requires = facts.Requires
			} else if n, ok := repo.ParseNEVRA(pk.NEVRA); ok {
				rpm.Name, rpm.Epoch, rpm.Version, rpm.Release, rpm.Arch = n.Name, n.Epoch, n.Version, n.Release, n.Arch
			} else {
				rpm.Name = strings.TrimSuffix(path.Base(pk.Location), ".rpm")
			}
			sb.RPMs = append(sb.RPMs, rpm)
		}
	}
	for _, im := range b.images {
		plats, err := b.imagePlatforms(im)
		if err != nil {
			return nil, err
		}
		sb.Images = append(sb.Images, sbom.Image{Name: im.Name, Ref: im.Ref, Repository: im.Repository, Digest: im.Digest, Platforms: plats})
	}
	disks := map[string][]string{}
	for _, tp := range p.Templates {
		for _, d := range tp.Disks {
			disks[tp.Name] = append(disks[tp.Name], d.Dest)
		}
	}
	for _, t := range b.templates {
		st := sbom.Template{Name: t.Name, OVF: t.OVF, Base: t.Base, Cluster: t.Cluster, NodeGroup: t.NodeGroup}
		if f, ok := byPath[t.OVF]; ok {
			st.SHA256 = f.SHA256
			covered[t.OVF] = true
		}
		part := func(p, kind string) {
			if f, ok := byPath[p]; ok && !covered[p] {
				covered[p] = true
				st.Parts = append(st.Parts, sbom.File{Path: p, Size: f.Size, SHA256: f.SHA256, Kind: kind})
			}
		}
		part(strings.TrimSuffix(t.OVF, ".ovf")+".mf", "ovf-manifest")
		part(t.OVA, "ova")
		if t.Base == "" {
			for _, d := range disks[t.Name] {
				part(d, "disk")
			}
		}
		sb.Templates = append(sb.Templates, st)
	}
	kinds := map[string]string{}
	for _, f := range p.Files {
		kinds[f.Path] = "config"
	}
	for _, r := range p.Repos {
		kinds[r.RepoFile] = "repo-file"
		for _, k := range r.GPGKeys {
			kinds[k.Dest] = "key"
		}
	}
	for _, f := range files {
		if covered[f.Path] {
			continue
		}
		kind := kinds[f.Path]
		switch {
		case kind != "":
		case strings.HasPrefix(f.Path, "images/"):
			kind = "image-layout"
		case strings.Contains("/"+f.Path, "/repodata/"):
			kind = "repodata"
		case strings.HasPrefix(f.Path, "ovf/"):
			kind = "ovf"
		default:
			kind = "file"
		}
		sb.Files = append(sb.Files, sbom.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Kind: kind})
	}
	return sb, nil
}

// writeSBOM writes the plan's SBOM into the staging dir and returns its
// file entry.
func (b *builder) writeSBOM(files []FileEntry) (FileEntry, error) {
	start := time.Now()
	defer func() { b.sbomTime = time.Since(start) }()
	sb, err := b.sbomBundle(files)
	if err != nil {
		return FileEntry{}, err
	}
	data, err := sbom.Encode(sb)
	if err != nil {
		return FileEntry{}, err
	}
	if err := writeFileExcl(b.abs(b.plan.SBOM), data, 0o644); err != nil {
		return FileEntry{}, err
	}
	return FileEntry{Path: b.plan.SBOM, Size: int64(len(data)), SHA256: sha256Hex(data), Mode: modeString(false)}, nil
}

// ociDescriptor is the part of an OCI index or manifest the SBOM reads.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Manifests []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Platform  *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
}

// imagePlatforms reads the staged blob of an image's digest: for an index,
// the manifest of each platform; otherwise (a manifest, or a blob the SBOM
// cannot read as an index) the image's own digest for its platforms.
func (b *builder) imagePlatforms(im ImageInfo) ([]sbom.Platform, error) {
	algo, hex, ok := strings.Cut(im.Digest, ":")
	if !ok || algo != "sha256" || !isSHA256(hex) {
		return nil, fmt.Errorf("writing %s: image %q has digest %q, want sha256:<hex>", b.plan.SBOM, im.Name, im.Digest)
	}
	var d ociDescriptor
	if data, err := readSmall(filepath.Join(b.abs(b.imageLayout()), "blobs", "sha256", hex)); err == nil {
		_ = json.Unmarshal(data, &d)
	}
	var out []sbom.Platform
	for _, m := range d.Manifests {
		if m.Platform == nil || m.Platform.OS == "" || m.Platform.OS == "unknown" {
			continue // attestations and other non-image entries
		}
		pl := m.Platform.OS + "/" + m.Platform.Architecture
		if m.Platform.Variant != "" {
			pl += "/" + m.Platform.Variant
		}
		out = append(out, sbom.Platform{Platform: pl, Digest: m.Digest})
	}
	if len(out) == 0 {
		for _, pl := range im.Platforms {
			out = append(out, sbom.Platform{Platform: pl, Digest: im.Digest})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Platform < out[j].Platform })
	return out, nil
}

// checkSBOM compares the bundle's SBOM with bundle.json: every RPM, image,
// template and file must be named with its digest.
func checkSBOM(m *Manifest, data []byte, rep *Report) {
	s, err := sbom.Read(data)
	if err != nil {
		rep.add(sbom.FileName, "%v", err)
		return
	}
	if s.Name != m.Name || s.Version != m.Version {
		rep.add(sbom.FileName, "describes %s %s, bundle.json names %s %s", s.Name, s.Version, m.Name, m.Version)
	}
	for _, r := range m.Repos {
		for _, p := range r.Packages {
			fp := r.Dir + "/" + p.Location
			got, ok := s.RPMs[fp]
			switch {
			case !ok:
				rep.add(sbom.FileName, "does not name RPM %s (%s)", p.NEVRA, fp)
			case got.SHA256 != p.SHA256:
				rep.add(sbom.FileName, "names RPM %s with sha256 %s, bundle.json says %s", fp, got.SHA256, p.SHA256)
			case got.Purl == "":
				rep.add(sbom.FileName, "RPM %s has no purl", fp)
			}
		}
	}
	for _, im := range m.Images {
		got, ok := s.Images[im.Name]
		switch {
		case !ok:
			rep.add(sbom.FileName, "does not name image %q", im.Name)
		case got.Digest != im.Digest:
			rep.add(sbom.FileName, "names image %q with digest %s, bundle.json says %s", im.Name, got.Digest, im.Digest)
		}
	}
	for _, t := range m.Templates {
		got, ok := s.Templates[t.Name]
		switch {
		case !ok:
			rep.add(sbom.FileName, "does not name template %q", t.Name)
		case got.SHA256 != t.SHA256:
			rep.add(sbom.FileName, "names template %q with sha256 %s, bundle.json says %s", t.Name, got.SHA256, t.SHA256)
		}
	}
	for _, f := range m.Files {
		if f.Path == sbom.FileName {
			continue
		}
		got, ok := s.Files[f.Path]
		switch {
		case !ok:
			rep.add(sbom.FileName, "does not name file %s", f.Path)
		case got != f.SHA256:
			rep.add(sbom.FileName, "names %s with sha256 %s, bundle.json says %s", f.Path, got, f.SHA256)
		}
	}
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	var extra []string
	for p := range s.Files {
		if !listed[p] {
			extra = append(extra, p)
		}
	}
	sort.Strings(extra)
	for _, p := range extra {
		rep.add(sbom.FileName, "names %s, which is not in the bundle", p)
	}
}

// readSBOM reads the SBOM of a bundle directory or archive; nil when the
// bundle has none.
func readSBOM(ctx context.Context, bundlePath string, m *Manifest) (*sbom.Summary, error) {
	if !hasFile(m, sbom.FileName) {
		return nil, nil
	}
	files, err := readBundleFiles(ctx, bundlePath, []string{sbom.FileName}, maxMetaSize)
	if err != nil {
		return nil, err
	}
	data, ok := files[sbom.FileName]
	if !ok {
		return nil, fmt.Errorf("reading %q: %s is listed in bundle.json but missing", bundlePath, sbom.FileName)
	}
	s, err := sbom.Read(data)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", bundlePath, err)
	}
	return s, nil
}

func hasFile(m *Manifest, p string) bool {
	for _, f := range m.Files {
		if f.Path == p {
			return true
		}
	}
	return false
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
