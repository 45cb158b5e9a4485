package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Schema is the value of bundle.json's "schema" key.
const Schema = "bundle/v1"

// Names of the bundle's own metadata files at the root of the bundle dir.
const (
	FileName      = "bundle.json"
	SumsName      = "SHA256SUMS"
	SignatureName = "bundle.json.sig"
)

// MaxMetaSize bounds each metadata file (bundle.json, SHA256SUMS,
// bundle.json.sig) and the other small files readers hold in memory.
const MaxMetaSize = 64 << 20

// Manifest is bundle.json. Field order is the key order of the file.
type Manifest struct {
	Schema           string          `json:"schema"`
	Name             string          `json:"name"`
	Version          string          `json:"version"`
	Epoch            int64           `json:"epoch"`
	Builder          string          `json:"builder"`
	DefinitionSHA256 string          `json:"definition_sha256"`
	Inputs           []InputEntry    `json:"inputs"`
	Files            []FileEntry     `json:"files"`
	Repos            []RepoEntry     `json:"repos"`
	Distros          []DistroEntry   `json:"distros"`
	Clusters         []ClusterEntry  `json:"clusters"`
	SiteRegistry     string          `json:"site_registry,omitempty"` // where the apps' images are pulled from and pushed to
	Images           []ImageInfo     `json:"images"`
	Templates        []TemplateEntry `json:"templates"`
	Targets          []TargetEntry   `json:"targets"`
}

// InputEntry is one input file of the build, by its path relative to the definition.
type InputEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FileEntry is one regular file of the bundle directory.
type FileEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Mode   string `json:"mode"` // "0644" or "0755"
	// Sensitive marks a file holding a value derived from a sensitive
	// variable: tools never print its content (diff says only that it
	// changed).
	Sensitive bool `json:"sensitive,omitempty"`
}

// Executable reports whether the entry's mode is 0755.
func (f FileEntry) Executable() bool { return f.Mode == "0755" }

// RepoEntry is one yum repository of the bundle.
type RepoEntry struct {
	Name     string         `json:"name"`
	Version  string         `json:"version"`
	Dir      string         `json:"dir"`
	RepoFile string         `json:"repo_file"`
	Packages []PackageEntry `json:"packages"`
}

// PackageEntry is one RPM of a repository.
type PackageEntry struct {
	NEVRA    string `json:"nevra"`
	Location string `json:"location"` // relative to the repo dir
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	// Signatures describes the OpenPGP signatures of the package, one
	// line per kind and key ("V3 RSA/SHA256 key 24c6a8a7f4a80eb5
	// (RSAHEADER, PGP), verified"); absent when unsigned.
	Signatures []string `json:"signatures,omitempty"`
}

// DistroEntry is one BDE distro manifest entry.
type DistroEntry struct {
	Name    string   `json:"name"`
	Vendor  string   `json:"vendor"`
	Version string   `json:"version"`
	Roles   []string `json:"roles"`
	Repos   []string `json:"repos"`
}

// ClusterEntry is one Mesos cluster with its node groups and apps.
type ClusterEntry struct {
	Name   string `json:"name"`
	Distro string `json:"distro"`
	// MovesFrom is the version the cluster runs on the site before this
	// bundle when the bundle moves it to another (its running block):
	// deploy then re-runs Chef on it through BDE (cluster config).
	MovesFrom  string           `json:"moves_from,omitempty"`
	NodeGroups []NodeGroupEntry `json:"node_groups"`
	Apps       []AppEntry       `json:"apps"`
	// Jobs are the cluster's Chronos jobs (none: left out).
	Jobs []JobEntry `json:"jobs,omitempty"`
}

// JobEntry is one Chronos job of a cluster: its schedule (ISO 8601) or
// the jobs it runs after.
type JobEntry struct {
	Name     string   `json:"name"`
	Schedule string   `json:"schedule,omitempty"`
	Parents  []string `json:"parents,omitempty"`
	Image    string   `json:"image,omitempty"`
}

// NodeGroupEntry is one node group of a cluster.
type NodeGroupEntry struct {
	Name       string            `json:"name"`
	Roles      []string          `json:"roles"`
	Instances  int               `json:"instances"`
	Attributes map[string]string `json:"attributes"`
}

// AppEntry is one Marathon app of a cluster.
type AppEntry struct {
	Name        string     `json:"name"`
	ID          string     `json:"id"`
	Instances   int        `json:"instances"`
	Constraints [][]string `json:"constraints"`
	Image       string     `json:"image"`
}

// ImageInfo is one container image of the bundle's OCI layout.
type ImageInfo struct {
	Name       string   `json:"name"`
	Ref        string   `json:"ref"`
	Repository string   `json:"repository"`
	Digest     string   `json:"digest"` // sha256:<hex> of the manifest or index
	Platforms  []string `json:"platforms"`
}

// TemplateEntry is one VM template of the bundle.
type TemplateEntry struct {
	Name   string `json:"name"`
	OVF    string `json:"ovf"`
	OVA    string `json:"ova"`
	SHA256 string `json:"sha256"` // of the .ovf
	// Base, Cluster and NodeGroup are set on a node group's derived
	// template: its base template and the group it was derived for.
	Base      string `json:"base,omitempty"`
	Cluster   string `json:"cluster,omitempty"`
	NodeGroup string `json:"node_group,omitempty"`
}

// TargetEntry is one vCenter deploy target.
type TargetEntry struct {
	Name             string `json:"name"`
	Datacenter       string `json:"datacenter"`
	Datastore        string `json:"datastore"`
	Folder           string `json:"folder"`
	Library          string `json:"library"`
	ResourcePool     string `json:"resource_pool"`
	Network          string `json:"network"`
	DatastorePath    string `json:"datastore_path"`
	Registry         string `json:"registry"`
	ManagementServer string `json:"management_server"`
}

// HasFile reports whether files lists path p.
func (m *Manifest) HasFile(p string) bool {
	for _, f := range m.Files {
		if f.Path == p {
			return true
		}
	}
	return false
}

// Dir is the bundle's directory name: <name>-<version>.
func (m *Manifest) Dir() string { return BundleDir(m.Name, m.Version) }

// Normalize turns nil lists into empty ones and sorts every list, so the
// encoding is canonical.
func (m *Manifest) Normalize() {
	if m.Inputs == nil {
		m.Inputs = []InputEntry{}
	}
	sort.Slice(m.Inputs, func(i, j int) bool { return m.Inputs[i].Path < m.Inputs[j].Path })
	if m.Files == nil {
		m.Files = []FileEntry{}
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if m.Repos == nil {
		m.Repos = []RepoEntry{}
	}
	sort.Slice(m.Repos, func(i, j int) bool { return m.Repos[i].Name < m.Repos[j].Name })
	for i := range m.Repos {
		r := &m.Repos[i]
		if r.Packages == nil {
			r.Packages = []PackageEntry{}
		}
		sort.Slice(r.Packages, func(i, j int) bool { return r.Packages[i].Location < r.Packages[j].Location })
	}
	if m.Distros == nil {
		m.Distros = []DistroEntry{}
	}
	sort.Slice(m.Distros, func(i, j int) bool { return m.Distros[i].Name < m.Distros[j].Name })
	for i := range m.Distros {
		d := &m.Distros[i]
		d.Roles = nonNil(d.Roles)
		d.Repos = nonNil(d.Repos)
	}
	if m.Clusters == nil {
		m.Clusters = []ClusterEntry{}
	}
	sort.Slice(m.Clusters, func(i, j int) bool { return m.Clusters[i].Name < m.Clusters[j].Name })
	for i := range m.Clusters {
		c := &m.Clusters[i]
		if c.NodeGroups == nil {
			c.NodeGroups = []NodeGroupEntry{}
		}
		sort.Slice(c.NodeGroups, func(i, j int) bool { return c.NodeGroups[i].Name < c.NodeGroups[j].Name })
		for j := range c.NodeGroups {
			g := &c.NodeGroups[j]
			g.Roles = nonNil(g.Roles)
			if g.Attributes == nil {
				g.Attributes = map[string]string{}
			}
		}
		if c.Apps == nil {
			c.Apps = []AppEntry{}
		}
		sort.Slice(c.Apps, func(i, j int) bool { return c.Apps[i].Name < c.Apps[j].Name })
		sort.Slice(c.Jobs, func(i, j int) bool { return c.Jobs[i].Name < c.Jobs[j].Name })
		for j := range c.Apps {
			a := &c.Apps[j]
			if a.Constraints == nil {
				a.Constraints = [][]string{}
			}
			for k := range a.Constraints {
				a.Constraints[k] = nonNil(a.Constraints[k])
			}
		}
	}
	if m.Images == nil {
		m.Images = []ImageInfo{}
	}
	sort.Slice(m.Images, func(i, j int) bool { return m.Images[i].Name < m.Images[j].Name })
	for i := range m.Images {
		m.Images[i].Platforms = nonNil(m.Images[i].Platforms)
	}
	if m.Templates == nil {
		m.Templates = []TemplateEntry{}
	}
	sort.Slice(m.Templates, func(i, j int) bool { return m.Templates[i].Name < m.Templates[j].Name })
	if m.Targets == nil {
		m.Targets = []TargetEntry{}
	}
	sort.Slice(m.Targets, func(i, j int) bool { return m.Targets[i].Name < m.Targets[j].Name })
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Encode returns the canonical bundle.json bytes: 2-space indent, keys in
// the documented order, lists sorted, a final newline.
func (m *Manifest) Encode() ([]byte, error) {
	m.Normalize()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", FileName, err)
	}
	return buf.Bytes(), nil
}

// Parse decodes bundle.json and checks its shape: the schema, the
// name and version, and that every file path is clean and relative.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", FileName, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("parsing %s: data after the JSON object", FileName)
	}
	if m.Schema != Schema {
		return nil, fmt.Errorf("parsing %s: schema is %q, want %q", FileName, m.Schema, Schema)
	}
	if m.Name == "" || m.Version == "" || strings.ContainsAny(m.Dir(), "/\\") || m.Dir() == "." || m.Dir() == ".." {
		return nil, fmt.Errorf("parsing %s: invalid name %q or version %q", FileName, m.Name, m.Version)
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if err := CheckRelPath(f.Path); err != nil {
			return nil, fmt.Errorf("parsing %s: file %w", FileName, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("parsing %s: file %q listed twice", FileName, f.Path)
		}
		seen[f.Path] = true
		if !IsSHA256(f.SHA256) {
			return nil, fmt.Errorf("parsing %s: file %q: sha256 %q is not 64 hex digits in lowercase", FileName, f.Path, f.SHA256)
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("parsing %s: file %q: negative size", FileName, f.Path)
		}
		if f.Mode != "0644" && f.Mode != "0755" {
			return nil, fmt.Errorf("parsing %s: file %q has mode %q, want \"0644\" or \"0755\"", FileName, f.Path, f.Mode)
		}
		if IsMetaFile(f.Path) {
			return nil, fmt.Errorf("parsing %s: files lists %q, which is bundle metadata", FileName, f.Path)
		}
	}
	if err := m.checkPaths(); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", FileName, err)
	}
	return &m, nil
}

// checkPaths checks every path field besides files[].path: each is a clean
// relative path inside the bundle (optional ones may be empty), and inputs
// are relative to the definition without "..".
func (m *Manifest) checkPaths() error {
	check := func(what, p string, optional bool) error {
		if optional && p == "" {
			return nil
		}
		if err := CheckRelPath(p); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	for _, in := range m.Inputs {
		if err := check("input", in.Path, false); err != nil {
			return err
		}
	}
	for _, r := range m.Repos {
		if err := check(fmt.Sprintf("repo %q dir", r.Name), r.Dir, false); err != nil {
			return err
		}
		if err := check(fmt.Sprintf("repo %q repo_file", r.Name), r.RepoFile, true); err != nil {
			return err
		}
		for _, pk := range r.Packages {
			if err := check(fmt.Sprintf("repo %q package location", r.Name), pk.Location, false); err != nil {
				return err
			}
		}
	}
	for _, t := range m.Templates {
		if err := check(fmt.Sprintf("template %q ovf", t.Name), t.OVF, true); err != nil {
			return err
		}
		if err := check(fmt.Sprintf("template %q ova", t.Name), t.OVA, true); err != nil {
			return err
		}
	}
	for _, tg := range m.Targets {
		if err := check(fmt.Sprintf("target %q datastore_path", tg.Name), tg.DatastorePath, true); err != nil {
			return err
		}
	}
	return nil
}

// CheckRelPath accepts clean, relative, slash-separated paths without "..".
func CheckRelPath(p string) error {
	switch {
	case p == "" || p == ".":
		return fmt.Errorf("path %q is empty", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is absolute", p)
	case strings.Contains(p, "\\"):
		return fmt.Errorf("path %q holds a backslash", p)
	case strings.ContainsAny(p, "\n\r\x00"):
		return fmt.Errorf("path %q holds a control character", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return fmt.Errorf("path %q leaves the bundle (..)", p)
		}
	}
	return nil
}

// IsSHA256 reports whether s is a SHA-256 digest in lower-case hex, as
// bundle.json, SHA256SUMS and the provenance write them.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// IsMetaFile reports whether p is one of the files that describe the bundle
// rather than belong to it: bundle.json, SHA256SUMS and the signature.
func IsMetaFile(p string) bool {
	return p == FileName || p == SumsName || p == SignatureName
}

// Sums returns the SHA256SUMS content for files, sorted by path, in the
// format of `sha256sum` (two spaces, text mode).
func Sums(files []FileEntry) []byte {
	sorted := append([]FileEntry(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var b bytes.Buffer
	for _, f := range sorted {
		fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Path)
	}
	return b.Bytes()
}

func ModeString(exec bool) string {
	if exec {
		return "0755"
	}
	return "0644"
}
