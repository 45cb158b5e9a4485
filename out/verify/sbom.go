package verify

import (
	"sort"

	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/sbom"
)

// checkSBOM compares the bundle's SBOM with bundle.json: every RPM, image,
// template and file must be named with its digest.
func checkSBOM(m *manifest.Manifest, data []byte, rep *Report) {
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
		rep.sbomNames("image", im.Name, ok, "digest", got.Digest, im.Digest)
	}
	for _, t := range m.Templates {
		got, ok := s.Templates[t.Name]
		rep.sbomNames("template", t.Name, ok, "sha256", got.SHA256, t.SHA256)
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

// sbomNames reports an image or template (kind) of bundle.json the SBOM
// does not name (ok false), or names with another digest (of algorithm alg).
func (r *Report) sbomNames(kind, name string, ok bool, alg, got, want string) {
	switch {
	case !ok:
		r.add(sbom.FileName, "does not name %s %q", kind, name)
	case got != want:
		r.add(sbom.FileName, "names %s %q with %s %s, bundle.json says %s", kind, name, alg, got, want)
	}
}
