package compiler

import (
	"io/fs"

	"github.com/bdebundle/bundle/internal/vmtemplate"
	"github.com/bdebundle/bundle/out/manifest"
)

// Plan is everything the bundle will contain and where each part comes from.
// builder.Build executes it (once builder.Check accepted it); `bundle build --plan` prints it.
type Plan struct {
	Name             string `json:"name"`
	Version          string `json:"version"`
	Epoch            int64  `json:"epoch"`
	Description      string `json:"description,omitempty"`
	DefinitionDigest string `json:"definition_sha256"`

	Repos    []*RepoPlan    `json:"repos"`
	Distros  []*DistroPlan  `json:"distros"`
	Clusters []*ClusterPlan `json:"clusters"`
	Apps     []*AppPlan     `json:"apps"`
	// Jobs are the Chronos jobs; nil when there are none.
	Jobs   []*JobPlan   `json:"jobs,omitempty"`
	Images []*ImagePlan `json:"images"`
	// ImageLayout is the OCI image layout the images are written to
	// ("images"); "" when there are none.
	ImageLayout string `json:"image_layout,omitempty"`
	// DockerArchives are the images written again as docker load archives
	// for clusters whose Docker cannot pull by digest; nil when none.
	DockerArchives *DockerArchivesPlan `json:"docker_archives,omitempty"`
	Templates      []*TemplatePlan     `json:"templates"`
	// Files are rendered text artifacts, sorted by Path.
	Files []*File `json:"files"`
	// Targets are the deploy targets (vcenter blocks), carried in the bundle.
	Targets []*Target `json:"targets,omitempty"`
	// Registry is the site registry: the apps' image references point at
	// it and every push of the bundle's images goes there ("" = none).
	Registry string `json:"registry,omitempty"`
	// SBOM is the bundle path of the CycloneDX SBOM ("sbom.cdx.json"); ""
	// writes none.
	SBOM string `json:"sbom,omitempty"`
	// Provenance is the in-toto provenance file, beside the archive in the
	// output directory ("<name>-<version>.intoto.json"); "" writes none.
	Provenance string `json:"provenance,omitempty"`
}

// SBOMPath is where a bundle carries its SBOM; ProvenanceSuffix follows the
// bundle's directory name to name its provenance file beside the archive.
const (
	SBOMPath         = "sbom.cdx.json"
	ProvenanceSuffix = ".intoto.json"
)

// Dir is the bundle's directory name: <name>-<version>.
func (p *Plan) Dir() string { return manifest.BundleDir(p.Name, p.Version) }

// Input is an input file copied into the bundle.
type Input struct {
	Src  string `json:"-"`    // absolute path on the build host
	Rel  string `json:"src"`  // path relative to the definition (for display and bundle.json)
	Dest string `json:"dest"` // path inside the bundle
	Size int64  `json:"size"`
}

// File is a rendered artifact.
type File struct {
	Path      string      `json:"path"`
	Mode      fs.FileMode `json:"mode"`
	Data      []byte      `json:"-"`
	Size      int         `json:"size"`
	Sensitive bool        `json:"sensitive,omitempty"` // holds a sensitive value: never print its content
}

// RepoPlan is one yum repository in the bundle.
type RepoPlan struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Dir      string   `json:"dir"`       // serengeti/www/yum/repos/<path>/<version>
	RepoFile string   `json:"repo_file"` // serengeti/www/yum/<name>.repo
	BaseURL  string   `json:"base_url,omitempty"`
	RepoURL  string   `json:"repo_url,omitempty"` // URL of the .repo file at the site
	Packages []*Input `json:"packages"`
	GPGKeys  []*Input `json:"gpg_keys,omitempty"`
}

// DistroPlan is one BDE distro manifest entry.
type DistroPlan struct {
	Name    string   `json:"name"`
	Vendor  string   `json:"vendor"`
	Version string   `json:"version"`
	Roles   []string `json:"roles"`
	Repos   []string `json:"repos"`
	// Previous is the version the site's manifest (the upgrade block) has
	// under this name when it differs: the entry is updated in place and
	// every cluster created on it moves.
	Previous string `json:"previous,omitempty"`
}

// ClusterPlan is one Mesos cluster.
type ClusterPlan struct {
	Name       string           `json:"name"`
	Distro     string           `json:"distro"`
	Mesos      string           `json:"mesos"`
	Marathon   string           `json:"marathon,omitempty"`
	NodeGroups []*NodeGroupPlan `json:"node_groups"`
	// Running is set when the cluster already runs on the site (its
	// running block); Moves when it runs another version than Mesos, so
	// the release moves it and deploy re-runs Chef on it (cluster config).
	Running *RunningPlan `json:"running,omitempty"`
	Moves   bool         `json:"moves,omitempty"`
}

// RunningPlan is what a running cluster runs before the release: the
// distro name BDE created it on and that entry's version.
type RunningPlan struct {
	Distro  string `json:"distro"`
	Version string `json:"version"`
}

// NodeGroupPlan is one node group of a cluster.
type NodeGroupPlan struct {
	Name           string            `json:"name"`
	Roles          []string          `json:"roles"`
	Instances      int               `json:"instances"`
	CPU            int               `json:"cpu"`
	MemoryMB       int               `json:"memory_mb"`
	StorageProfile string            `json:"storage_profile,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	Template       string            `json:"template,omitempty"`
}

// AppPlan is one Marathon app.
type AppPlan struct {
	Name        string     `json:"name"`
	ID          string     `json:"id"`
	Cluster     string     `json:"cluster"`
	Instances   int        `json:"instances"`
	Image       string     `json:"image,omitempty"`
	Constraints [][]string `json:"constraints,omitempty"`
}

// ImagePlan is one container image mirrored into images/.
type ImagePlan struct {
	Name      string   `json:"name"`
	Ref       string   `json:"-"`   // local paths made absolute
	Written   string   `json:"ref"` // as written in the definition
	Platforms []string `json:"platforms"`
	// MediaTypes is "preserve" or "oci" (the image's media_types, else the
	// bundle's image_media_types, else "preserve").
	MediaTypes string `json:"media_types"`
}

// TemplatePlan is one VM template written under ovf/<name>/.
type TemplatePlan struct {
	Name     string   `json:"name"`
	GuestOS  string   `json:"guest_os"`
	CPU      int      `json:"cpu"`
	MemoryMB int      `json:"memory_mb"`
	Disks    []*Input `json:"disks,omitempty"`
	// Dir is the template's directory (ovf/<name>): its descriptor,
	// manifest and disks; OVFPath, MFPath and OVAPath are the files.
	Dir     string `json:"dir"`
	OVFPath string `json:"ovf"`
	MFPath  string `json:"mf"`
	OVAPath string `json:"ova"`
	// Derived are the per-node-group templates written beside this one,
	// sharing its disks.
	Derived []*DerivedTemplate `json:"derived,omitempty"`
	// OVF is the template to write, its disk paths the absolute inputs.
	OVF vmtemplate.Template `json:"-"`
}

// DerivedTemplate is a node group's copy of a template with the group's
// vApp property defaults filled in: another .ovf and .mf in the base
// template's directory, referencing the same disk files.
type DerivedTemplate struct {
	Name      string `json:"name"`
	Cluster   string `json:"cluster"`
	NodeGroup string `json:"node_group"`
	// OVFPath and MFPath are its descriptor and manifest, in the base
	// template's directory.
	OVFPath string `json:"ovf"`
	MFPath  string `json:"mf"`
	// Properties are the filled values, as shown: values from a sensitive
	// variable read "(sensitive)" (the descriptor has the real ones).
	Properties map[string]string   `json:"properties"`
	OVF        vmtemplate.Template `json:"-"`
}

// Target is a vCenter deploy target.
type Target struct {
	Name             string `json:"name"`
	Datacenter       string `json:"datacenter,omitempty"`
	Datastore        string `json:"datastore,omitempty"`
	Folder           string `json:"folder,omitempty"`
	Library          string `json:"library,omitempty"`
	ResourcePool     string `json:"resource_pool,omitempty"`
	Network          string `json:"network,omitempty"`
	DatastorePath    string `json:"datastore_path,omitempty"`
	Registry         string `json:"registry,omitempty"`
	ManagementServer string `json:"management_server,omitempty"`
}
