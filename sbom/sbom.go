package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/google/uuid"
	packageurl "github.com/package-url/packageurl-go"
)

// FileName is the SBOM's path at the root of a bundle.
const FileName = "sbom.cdx.json"

// SpecVersion is the CycloneDX version Encode writes.
const SpecVersion = cdx.SpecVersion1_6

// Property names (the "bundle:" namespace of this tool).
const (
	PropPath      = "bundle:path" // the file's path inside the bundle
	PropRepo      = "bundle:repo"
	PropEpoch     = "bundle:rpm:epoch"
	PropVersion   = "bundle:rpm:version"
	PropRelease   = "bundle:rpm:release"
	PropArch      = "bundle:rpm:arch"
	PropSourceRPM = "bundle:rpm:sourcerpm"
	PropPackager  = "bundle:rpm:packager"
	PropRef       = "bundle:image:ref" // the image reference as the definition wrote it
	PropRepoName  = "bundle:image:repository"
	PropPlatform  = "bundle:image:platform"
	PropBase      = "bundle:template:base"
	PropCluster   = "bundle:template:cluster"
	PropNodeGroup = "bundle:template:node_group"
	PropKind      = "bundle:file:kind"
	PropDefDigest = "bundle:definition_sha256"
)

// Bundle is what the SBOM describes. Paths are bundle paths ("/"-separated,
// relative to the bundle directory).
type Bundle struct {
	Name, Version string
	// Epoch is the bundle's time (metadata.timestamp).
	Epoch int64
	// Builder is "bundle <version>".
	Builder          string
	DefinitionSHA256 string
	RPMs             []RPM
	Images           []Image
	Templates        []Template
	// Files are the other files of the bundle (rendered configs, repodata,
	// keys, image layout blobs); Kind says which.
	Files []File
}

// RPM is one package of the bundle.
type RPM struct {
	Path   string
	Repo   string
	Size   int64
	SHA256 string
	rpmdep.NEVRA
	License, Vendor, Packager, SourceRPM string
	// Namespace is the purl namespace when the RPM has no Vendor (the
	// distro or repo it belongs to).
	Namespace string
	// Requires are the Paths of the bundle's RPMs that satisfy its
	// requirements.
	Requires []string
}

// Image is one container image of the bundle's OCI layout.
type Image struct {
	Name, Ref, Repository string
	// Digest is the sha256:… of the manifest or index the layout names.
	Digest    string
	Platforms []Platform
}

// Platform is the manifest of one platform of an image.
type Platform struct {
	Platform string // os/arch[/variant]
	Digest   string // sha256:…
}

// Template is one VM template: its descriptor and its parts (manifest, OVA,
// disks).
type Template struct {
	Name                     string
	OVF                      string // path of the .ovf
	SHA256                   string // of the .ovf
	Base, Cluster, NodeGroup string
	Parts                    []File
}

// File is one file of the bundle.
type File struct {
	Path   string
	Size   int64
	SHA256 string
	Kind   string // "config", "repodata", "key", "image-layout", "disk", "ovf-manifest", "ova", …
}

// Purl of an RPM: pkg:rpm/<vendor or namespace>/<name>@<version>-<release>?arch=<arch>[&epoch=N].
func (r *RPM) Purl() string {
	ns := purlNamespace(r.Vendor)
	if ns == "" {
		ns = purlNamespace(r.Namespace)
	}
	q := packageurl.Qualifiers{{Key: "arch", Value: r.Arch}}
	if r.Epoch != "" && r.Epoch != "0" {
		q = append(q, packageurl.Qualifier{Key: "epoch", Value: r.Epoch})
	}
	return packageurl.NewPackageURL(packageurl.TypeRPM, ns, r.Name, r.Version+"-"+r.Release, q, "").ToString()
}

// purlNamespace turns a vendor ("CentOS", "Mesosphere, Inc.") into a purl
// namespace: lowercase, runs of anything but letters, digits, '.', '-' and
// '_' become one '-'.
func purlNamespace(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(strings.TrimSpace(s)) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
				dash = true
			}
			continue
		}
		b.WriteRune(c)
		dash = false
	}
	return strings.Trim(b.String(), "-._")
}

// ImagePurl is pkg:oci/<last path element of the repository>@<digest>?repository_url=<repository>[&arch=…].
func ImagePurl(repository, digest, arch string) string {
	name := repository
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		name = "image"
	}
	var q packageurl.Qualifiers
	if arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: arch})
	}
	if repository != "" {
		q = append(q, packageurl.Qualifier{Key: "repository_url", Value: repository})
	}
	return packageurl.NewPackageURL("oci", "", strings.ToLower(name), digest, q, "").ToString()
}

// Refs of components: unique within the document.
func rpmRef(path string) string      { return "rpm:" + path }
func imageRef(name string) string    { return "image:" + name }
func templateRef(name string) string { return "template:" + name }
func fileRef(path string) string     { return "file:" + path }

func sha256Hashes(hex string) *[]cdx.Hash {
	if hex == "" {
		return nil
	}
	return &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: hex}}
}

func props(kv ...string) *[]cdx.Property {
	var ps []cdx.Property
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			ps = append(ps, cdx.Property{Name: kv[i], Value: kv[i+1]})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return &ps
}

func evr(epoch, version, release string) string {
	v := version + "-" + release
	if epoch != "" && epoch != "0" {
		v = epoch + ":" + v
	}
	return v
}

func fileComponent(f File) cdx.Component {
	return cdx.Component{BOMRef: fileRef(f.Path), Type: cdx.ComponentTypeFile, Name: f.Path,
		Hashes: sha256Hashes(f.SHA256), Properties: props(PropPath, f.Path, PropKind, f.Kind)}
}

// Encode returns sbom.cdx.json for b: CycloneDX 1.6 JSON, 2-space indent,
// a final newline, every list sorted.
func Encode(b *Bundle) ([]byte, error) {
	bom := cdx.NewBOM()
	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: "bundle"}
	if v, ok := strings.CutPrefix(b.Builder, "bundle "); ok {
		tool.Version = v
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: time.Unix(b.Epoch, 0).UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{tool}},
		Component: &cdx.Component{BOMRef: "bundle", Type: cdx.ComponentTypeApplication, Name: b.Name, Version: b.Version,
			Properties: props(PropDefDigest, b.DefinitionSHA256)},
	}
	var comps []cdx.Component
	var deps []cdx.Dependency
	var top []string
	known := map[string]bool{}
	for _, r := range b.RPMs {
		known[rpmRef(r.Path)] = true
	}
	for _, r := range b.RPMs {
		c := cdx.Component{BOMRef: rpmRef(r.Path), Type: cdx.ComponentTypeLibrary, Name: r.Name,
			Version: evr(r.Epoch, r.Version, r.Release), Publisher: r.Vendor, PackageURL: r.Purl(),
			Hashes: sha256Hashes(r.SHA256),
			Properties: props(PropPath, r.Path, PropRepo, r.Repo, PropEpoch, orZero(r.Epoch), PropVersion, r.Version,
				PropRelease, r.Release, PropArch, r.Arch, PropSourceRPM, r.SourceRPM, PropPackager, r.Packager)}
		if r.Vendor != "" {
			c.Supplier = &cdx.OrganizationalEntity{Name: r.Vendor}
		}
		if r.License != "" {
			c.Licenses = &cdx.Licenses{{License: &cdx.License{Name: r.License}}}
		}
		comps = append(comps, c)
		top = append(top, c.BOMRef)
		var on []string
		seen := map[string]bool{}
		for _, p := range r.Requires {
			ref := rpmRef(p)
			if p == r.Path || seen[ref] {
				continue
			}
			if !known[ref] {
				return nil, fmt.Errorf("encoding %s: %s requires %q, which is not an RPM of the bundle", FileName, r.Path, p)
			}
			seen[ref] = true
			on = append(on, ref)
		}
		sort.Strings(on)
		deps = append(deps, dependency(c.BOMRef, on))
	}
	for _, im := range b.Images {
		c := cdx.Component{BOMRef: imageRef(im.Name), Type: cdx.ComponentTypeContainer, Name: im.Name, Version: im.Digest,
			PackageURL: ImagePurl(im.Repository, im.Digest, ""), Hashes: sha256Hashes(strings.TrimPrefix(im.Digest, "sha256:")),
			Properties: props(PropRef, im.Ref, PropRepoName, im.Repository)}
		plats := append([]Platform(nil), im.Platforms...)
		sort.Slice(plats, func(i, j int) bool { return plats[i].Platform < plats[j].Platform })
		var sub []cdx.Component
		for _, p := range plats {
			if p.Digest == "" || p.Digest == im.Digest {
				continue // a single-platform image is its own manifest
			}
			_, arch, _ := strings.Cut(p.Platform, "/")
			arch, _, _ = strings.Cut(arch, "/") // os/arch[/variant]
			sub = append(sub, cdx.Component{BOMRef: imageRef(im.Name) + "@" + p.Platform, Type: cdx.ComponentTypeContainer,
				Name: im.Name, Version: p.Digest, PackageURL: ImagePurl(im.Repository, p.Digest, arch),
				Hashes: sha256Hashes(strings.TrimPrefix(p.Digest, "sha256:")), Properties: props(PropPlatform, p.Platform)})
		}
		if len(plats) == 1 || len(sub) == 0 {
			for _, p := range plats {
				c.Properties = props(PropRef, im.Ref, PropRepoName, im.Repository, PropPlatform, p.Platform)
			}
		}
		if len(sub) > 0 {
			c.Components = &sub
		}
		comps = append(comps, c)
		top = append(top, c.BOMRef)
	}
	for _, t := range b.Templates {
		c := cdx.Component{BOMRef: templateRef(t.Name), Type: cdx.ComponentTypeFile, Name: t.Name,
			Hashes:     sha256Hashes(t.SHA256),
			Properties: props(PropPath, t.OVF, PropKind, "ovf", PropBase, t.Base, PropCluster, t.Cluster, PropNodeGroup, t.NodeGroup)}
		parts := append([]File(nil), t.Parts...)
		sort.Slice(parts, func(i, j int) bool { return parts[i].Path < parts[j].Path })
		var sub []cdx.Component
		for _, p := range parts {
			sub = append(sub, fileComponent(p))
		}
		if len(sub) > 0 {
			c.Components = &sub
		}
		comps = append(comps, c)
		top = append(top, c.BOMRef)
	}
	for _, f := range b.Files {
		comps = append(comps, fileComponent(f))
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].BOMRef < comps[j].BOMRef })
	for i := 1; i < len(comps); i++ {
		if comps[i].BOMRef == comps[i-1].BOMRef {
			return nil, fmt.Errorf("encoding %s: %q is named twice", FileName, comps[i].BOMRef)
		}
	}
	sort.Strings(top)
	deps = append(deps, dependency("bundle", top))
	sort.Slice(deps, func(i, j int) bool { return deps[i].Ref < deps[j].Ref })
	bom.Components = &comps
	bom.Dependencies = &deps

	// The serial number is derived from the document: it is encoded with a
	// placeholder of the same length, which the UUIDv5 of that encoding's
	// sha256 replaces, so equal content gets an equal serial and any change
	// a new one.
	bom.SerialNumber = serialPlaceholder
	body, err := encode(bom)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	serial := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/bdebundle/bundle/sbom/"+hex.EncodeToString(sum[:]))).URN()
	i := bytes.Index(body, []byte(`"serialNumber": "`+serialPlaceholder+`"`))
	if i < 0 || len(serial) != len(serialPlaceholder) {
		return nil, fmt.Errorf("encoding %s: no serial number placeholder", FileName)
	}
	copy(body[i+len(`"serialNumber": "`):], serial)
	return body, nil
}

const serialPlaceholder = "urn:uuid:00000000-0000-0000-0000-000000000000"

func orZero(e string) string {
	if e == "" {
		return "0"
	}
	return e
}

func dependency(ref string, on []string) cdx.Dependency {
	d := cdx.Dependency{Ref: ref}
	if on == nil {
		on = []string{}
	}
	d.Dependencies = &on
	return d
}

// encode writes the document as CycloneDX SpecVersion JSON. It uses no
// field newer than that version, so it encodes the BOM as it is rather than
// through EncodeVersion (which deep-copies the whole BOM with gob to convert
// it).
func encode(bom *cdx.BOM) ([]byte, error) {
	bom.SpecVersion = SpecVersion
	bom.JSONSchema = "http://cyclonedx.org/schema/bom-" + SpecVersion.String() + ".schema.json"
	bom.XMLNS = ""
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", FileName, err)
	}
	return buf.Bytes(), nil
}
