package sbom

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Summary is what Read learns from an SBOM: its components by what they
// name.
type Summary struct {
	SpecVersion string
	Name        string
	Version     string
	// RPMs by bundle path.
	RPMs map[string]RPMSummary
	// Images by name.
	Images map[string]ImageSummary
	// Templates by name.
	Templates map[string]ComponentSummary
	// Files maps every bundle path a component names to its sha256
	// (RPMs, template parts and plain files alike).
	Files map[string]string
}

// RPMSummary is one RPM component.
type RPMSummary struct {
	Repo, Name, Arch, EVR, License, Supplier, Purl, SHA256 string
}

// ImageSummary is one image component.
type ImageSummary struct {
	Digest, Purl, Ref string
	// Platforms maps os/arch to the manifest digest.
	Platforms map[string]string
}

// ComponentSummary is a component with a digest.
type ComponentSummary struct {
	SHA256 string
	Path   string
}

// Read decodes sbom.cdx.json. It refuses what is not a CycloneDX JSON
// document and components that lack what Encode always writes.
func Read(data []byte) (*Summary, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", FileName, err)
	}
	if bom.BOMFormat != cdx.BOMFormat {
		return nil, fmt.Errorf("parsing %s: bomFormat is %q, want %q", FileName, bom.BOMFormat, cdx.BOMFormat)
	}
	s := &Summary{SpecVersion: bom.SpecVersion.String(), RPMs: map[string]RPMSummary{}, Images: map[string]ImageSummary{},
		Templates: map[string]ComponentSummary{}, Files: map[string]string{}}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		s.Name, s.Version = bom.Metadata.Component.Name, bom.Metadata.Component.Version
	}
	if bom.Components == nil {
		return s, nil
	}
	var walk func(cs []cdx.Component) error
	walk = func(cs []cdx.Component) error {
		for _, c := range cs {
			p := prop(c.Properties, PropPath)
			sum := hashOf(c.Hashes)
			if p != "" {
				if prev, dup := s.Files[p]; dup && prev != sum {
					return fmt.Errorf("parsing %s: %q is named twice with different digests", FileName, p)
				}
				s.Files[p] = sum
			}
			switch {
			case strings.HasPrefix(c.BOMRef, "rpm:"):
				lic := ""
				if c.Licenses != nil {
					var ls []string
					for _, l := range *c.Licenses {
						switch {
						case l.Expression != "":
							ls = append(ls, l.Expression)
						case l.License != nil && l.License.ID != "":
							ls = append(ls, l.License.ID)
						case l.License != nil:
							ls = append(ls, l.License.Name)
						}
					}
					sort.Strings(ls)
					lic = strings.Join(ls, " AND ")
				}
				sup := c.Publisher
				if c.Supplier != nil {
					sup = c.Supplier.Name
				}
				s.RPMs[strings.TrimPrefix(c.BOMRef, "rpm:")] = RPMSummary{Repo: prop(c.Properties, PropRepo), Name: c.Name,
					Arch: prop(c.Properties, PropArch), EVR: c.Version, License: lic, Supplier: sup, Purl: c.PackageURL, SHA256: sum}
			case strings.HasPrefix(c.BOMRef, "image:") && !strings.Contains(c.BOMRef, "@"):
				im := ImageSummary{Digest: c.Version, Purl: c.PackageURL, Ref: prop(c.Properties, PropRef), Platforms: map[string]string{}}
				if pl := prop(c.Properties, PropPlatform); pl != "" {
					im.Platforms[pl] = c.Version
				}
				if c.Components != nil {
					for _, sc := range *c.Components {
						if pl := prop(sc.Properties, PropPlatform); pl != "" {
							im.Platforms[pl] = sc.Version
						}
					}
				}
				s.Images[c.Name] = im
			case strings.HasPrefix(c.BOMRef, "template:"):
				s.Templates[c.Name] = ComponentSummary{SHA256: sum, Path: p}
			}
			if c.Components != nil && !strings.HasPrefix(c.BOMRef, "image:") {
				if err := walk(*c.Components); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(*bom.Components); err != nil {
		return nil, err
	}
	return s, nil
}

func prop(ps *[]cdx.Property, name string) string {
	if ps == nil {
		return ""
	}
	for _, p := range *ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func hashOf(hs *[]cdx.Hash) string {
	if hs == nil {
		return ""
	}
	for _, h := range *hs {
		if h.Algorithm == cdx.HashAlgoSHA256 {
			return h.Value
		}
	}
	return ""
}
