package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/rpmdep"

	"github.com/bdebundle/bundle/internal/regular"

	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/sbom"
)

// sbomBundle collects what the SBOM names from the staged bundle: the
// packages the repo writer described, the images and their per-platform
// manifests (read from the staged layout), the templates with their parts,
// and every other file.
func (b *builder) sbomBundle(files []manifest.FileEntry) (*sbom.Bundle, error) {
	p := b.plan
	sb := &sbom.Bundle{Name: p.Name, Version: p.Version, Epoch: p.Epoch, Builder: builderString(b.opts.BuilderVersion),
		DefinitionSHA256: p.DefinitionDigest}
	byPath := make(map[string]manifest.FileEntry, len(files))
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
			entry := sbom.RPM{Path: fp, Repo: r.Name, Size: f.Size, SHA256: f.SHA256, Namespace: r.Name}
			if facts := b.rpmFacts[fp]; facts != nil {
				entry.NEVRA = facts.NEVRA
				entry.License, entry.Vendor, entry.Packager, entry.SourceRPM = facts.License, facts.Vendor, facts.Packager, facts.SourceRPM
				if facts.Namespace != "" {
					entry.Namespace = facts.Namespace
				}
				entry.Requires = facts.Requires
			} else if n, ok := rpmdep.ParseNEVRA(pk.NEVRA); ok {
				entry.NEVRA = n
			} else {
				entry.Name = strings.TrimSuffix(path.Base(pk.Location), ".rpm")
			}
			sb.RPMs = append(sb.RPMs, entry)
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
		case strings.HasPrefix(f.Path, manifest.ImagesDir+"/"):
			kind = "image-layout"
		case strings.Contains("/"+f.Path, "/repodata/"):
			kind = "repodata"
		case strings.HasPrefix(f.Path, manifest.OVFDir+"/"):
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
func (b *builder) writeSBOM(files []manifest.FileEntry) (manifest.FileEntry, error) {
	start := time.Now()
	defer func() { b.sbomTime = time.Since(start) }()
	sb, err := b.sbomBundle(files)
	if err != nil {
		return manifest.FileEntry{}, err
	}
	data, err := sbom.Encode(sb)
	if err != nil {
		return manifest.FileEntry{}, err
	}
	if err := writeFileExcl(b.abs(b.plan.SBOM), data, 0o644); err != nil {
		return manifest.FileEntry{}, err
	}
	return manifest.FileEntry{Path: b.plan.SBOM, Size: int64(len(data)), SHA256: sha256Hex(data), Mode: manifest.ModeString(false)}, nil
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
func (b *builder) imagePlatforms(im manifest.ImageInfo) ([]sbom.Platform, error) {
	algo, hex, ok := strings.Cut(im.Digest, ":")
	if !ok || algo != "sha256" || !manifest.IsSHA256(hex) {
		return nil, fmt.Errorf("writing %s: image %q has digest %q, want sha256:<hex>", b.plan.SBOM, im.Name, im.Digest)
	}
	var d ociDescriptor
	if data, err := regular.ReadFile(filepath.Join(b.abs(b.imageLayout()), "blobs", "sha256", hex), manifest.MaxMetaSize); err == nil {
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

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
