package sitedef

import (
	"maps"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Definition is a loaded, evaluated site definition. Every block keeps its
// source range so later phases can point diagnostics at it.
type Definition struct {
	// Path is the file or directory the definition was loaded from, as given.
	Path string
	// Files maps each parsed file name to its source (for diagnostics).
	Files map[string]*hcl.File
	// VarFiles maps each --var-file to its source (for diagnostics).
	VarFiles map[string]*hcl.File
	// Digest is the sha256 of the normalized definition (formatted sources and
	// resolved variable values).
	Digest string

	Bundle          *Bundle
	Variables       []*Variable
	Locals          map[string]cty.Value
	StorageProfiles []*StorageProfile
	Repos           []*Repo
	Distros         []*Distro
	Clusters        []*Cluster
	Apps            []*App
	Jobs            []*Job
	Images          []*Image
	VMTemplates     []*VMTemplate
	VCenters        []*VCenter
	// Upgrade is the upgrade block: the site this release goes over (nil
	// when the definition has none).
	Upgrade *Upgrade

	// Sensitive lists "block.name.attr" paths whose values derive from a
	// sensitive variable; such values are never printed.
	Sensitive map[string]bool

	// secretRanges are the source ranges holding sensitive values (defaults
	// of sensitive variables, their values in var files), masked in Sources.
	secretRanges []hcl.Range
}

// Bundle is the bundle block: the bundle's identity.
type Bundle struct {
	Name            string    `hcl:"name,label"`
	Version         string    `hcl:"version"`
	Epoch           *int64    `hcl:"epoch,optional"`
	Description     string    `hcl:"description,optional"`
	ImageMediaTypes string    `hcl:"image_media_types,optional"` // default media_types of image blocks
	DeclRange       hcl.Range `hcl:",def_range"`
	Body            hcl.Body  `hcl:",body"`
}

// EpochOr returns the bundle's epoch (SOURCE_DATE_EPOCH for every timestamp).
func (b *Bundle) EpochOr(def int64) int64 {
	if b == nil || b.Epoch == nil {
		return def
	}
	return *b.Epoch
}

// Variable is a declared input variable with its resolved value.
type Variable struct {
	Name        string         `hcl:"name,label"`
	TypeExpr    hcl.Expression `hcl:"type,optional"`
	DefaultExpr hcl.Expression `hcl:"default,optional"`
	Description string         `hcl:"description,optional"`
	Sensitive   bool           `hcl:"sensitive,optional"`
	Validations []*Validation  `hcl:"validation,block"`
	DeclRange   hcl.Range      `hcl:",def_range"`
	Body        hcl.Body       `hcl:",body"`
	Type        cty.Type       // resolved type constraint (cty.DynamicPseudoType when none)
	Value       cty.Value      // resolved value
	Source      string         // where the value came from: default, env, var-file PATH, flag
}

// Validation is a variable's validation rule.
type Validation struct {
	Condition    hcl.Expression `hcl:"condition"`
	ErrorMessage string         `hcl:"error_message"`
	DeclRange    hcl.Range      `hcl:",def_range"`
}

// StorageProfile is a storage I/O profile: a kind of backend storage that
// slaves advertise through a Mesos attribute for Marathon placement.
type StorageProfile struct {
	Name        string    `hcl:"name,label"`
	Backend     string    `hcl:"backend"`
	Storage     string    `hcl:"storage"` // shared | local | tempfs (BDE storage types)
	Datastores  []string  `hcl:"datastores,optional"`
	Attribute   string    `hcl:"attribute,optional"` // Mesos attribute name, default "storage_profile"
	Value       string    `hcl:"value,optional"`     // attribute value, default the block label
	Description string    `hcl:"description,optional"`
	DeclRange   hcl.Range `hcl:",def_range"`
	Body        hcl.Body  `hcl:",body"`
}

// AttributeName returns the Mesos attribute the profile sets.
func (p *StorageProfile) AttributeName() string {
	if p.Attribute != "" {
		return p.Attribute
	}
	return "storage_profile"
}

// AttributeValue returns the Mesos attribute value the profile sets.
func (p *StorageProfile) AttributeValue() string {
	if p.Value != "" {
		return p.Value
	}
	return p.Name
}

// Repo is a versioned yum repository of RPMs.
type Repo struct {
	Name      string    `hcl:"name,label"`
	Version   string    `hcl:"version"`
	Path      string    `hcl:"path,optional"`     // directory under www/yum/repos, default the label
	Packages  []string  `hcl:"packages"`          // files, directories or globs, relative to the file naming them
	BaseURL   string    `hcl:"base_url,optional"` // where the site serves the repo
	GPGKeys   []string  `hcl:"gpg_keys,optional"` // when set, every RPM must verify against one of them
	DeclRange hcl.Range `hcl:",def_range"`
	Body      hcl.Body  `hcl:",body"`
	// Dir is the directory of the file that declared the block; relative
	// paths resolve against it.
	Dir string
}

// RepoPath returns the repo's directory name under www/yum/repos.
func (r *Repo) RepoPath() string {
	if r.Path != "" {
		return r.Path
	}
	return r.Name
}

// Baseline declares what the operating system supplies for dependency closure.
type Baseline struct {
	Repodata  []string  `hcl:"repodata,optional"` // directories holding repodata/ of OS repos
	Provides  []string  `hcl:"provides,optional"` // capabilities or file paths the OS supplies
	DeclRange hcl.Range `hcl:",def_range"`
}

// Distro is a BDE distro: a manifest entry tying roles to package repos.
type Distro struct {
	Name      string         `hcl:"name,label"`
	Vendor    string         `hcl:"vendor"`
	Version   string         `hcl:"version"`
	ReposExpr hcl.Expression `hcl:"repos"`
	Roles     []string       `hcl:"roles"`
	// Keep and Manifest are the attributes an upgrade was once written
	// with; the compiler refuses them and says what replaced them (each
	// kept version its own distro block, the site's manifest in the
	// upgrade block).
	Keep            []string  `hcl:"keep,optional"`
	Manifest        string    `hcl:"manifest,optional"`
	HVESupported    *bool     `hcl:"hve_supported,optional"`
	Baseline        *Baseline `hcl:"baseline,block"`
	AllowUnresolved []string  `hcl:"allow_unresolved,optional"`
	DeclRange       hcl.Range `hcl:",def_range"`
	Body            hcl.Body  `hcl:",body"`
	Dir             string

	Repos []*Repo // resolved from ReposExpr
}

// Cluster is a Mesos cluster deployed by BDE.
type Cluster struct {
	Name       string         `hcl:"name,label"`
	DistroExpr hcl.Expression `hcl:"distro"`
	Marathon   string         `hcl:"marathon,optional"`
	Chronos    string         `hcl:"chronos,optional"`
	Zookeeper  *Zookeeper     `hcl:"zookeeper,block"`
	NodeGroups []*NodeGroup   `hcl:"node_group,block"`
	HAProxy    *HAProxy       `hcl:"haproxy,block"`
	Running    *Running       `hcl:"running,block"`
	DeclRange  hcl.Range      `hcl:",def_range"`
	Body       hcl.Body       `hcl:",body"`

	Distro *Distro // resolved
}

// Running says that a cluster already runs on the site: the distro name BDE
// created it on (fixed for the cluster's life) and the version its nodes run
// before this release. The cluster's distro block is the version it moves
// to; when the versions differ, the release moves the cluster.
type Running struct {
	Distro    string    `hcl:"distro"`
	Version   string    `hcl:"version"`
	DeclRange hcl.Range `hcl:",def_range"`
	Body      hcl.Body  `hcl:",body"`
}

// Upgrade describes the site this release is deployed over.
type Upgrade struct {
	// Manifest is the distro manifest the site serves now (the last
	// release's serengeti/www/distros/manifest, or a copy of
	// /opt/serengeti/www/distros/manifest), relative to the file.
	Manifest  string    `hcl:"manifest"`
	DeclRange hcl.Range `hcl:",def_range"`
	Body      hcl.Body  `hcl:",body"`
	Dir       string
}

// Zookeeper configures the ZooKeeper ensemble path and port.
type Zookeeper struct {
	Path      string    `hcl:"path,optional"`
	Port      *int      `hcl:"port,optional"`
	DeclRange hcl.Range `hcl:",def_range"`
	Body      hcl.Body  `hcl:",body"`
}

// NodeGroup is a BDE node group: a set of identical VMs with roles.
type NodeGroup struct {
	Name               string            `hcl:"name,label"`
	Roles              []string          `hcl:"roles"`
	Instances          int               `hcl:"instances"`
	CPU                int               `hcl:"cpu,optional"`
	MemoryMB           int               `hcl:"memory_mb,optional"`
	InstanceType       string            `hcl:"instance_type,optional"` // SMALL|MEDIUM|LARGE|EXTRA_LARGE
	HA                 string            `hcl:"ha,optional"`            // on|off|ft
	Storage            *Storage          `hcl:"storage,block"`
	StorageProfileExpr hcl.Expression    `hcl:"storage_profile,optional"`
	TemplateExpr       hcl.Expression    `hcl:"template,optional"`
	Attributes         map[string]string `hcl:"attributes,optional"`
	TemplateProperties map[string]string `hcl:"template_properties,optional"` // vApp property defaults of the group's derived template
	Hosts              []string          `hcl:"hosts,optional"`               // planned FQDNs, for marathons/HAProxy files
	MesosMasterFlags   map[string]string `hcl:"mesos_master_flags,optional"`  // extra mesos-master flags, one /etc/mesos-master/<name> file each
	MesosSlaveFlags    map[string]string `hcl:"mesos_slave_flags,optional"`   // extra mesos-slave flags, one /etc/mesos-slave/<name> file each
	DeclRange          hcl.Range         `hcl:",def_range"`
	Body               hcl.Body          `hcl:",body"`

	StorageProfile *StorageProfile // resolved, may be nil
	Template       *VMTemplate     // resolved, may be nil
}

// Storage is a node group's disk request.
type Storage struct {
	Type       string    `hcl:"type,optional"` // shared | local | tempfs
	SizeGB     int       `hcl:"size_gb,optional"`
	Datastores []string  `hcl:"datastores,optional"`
	DeclRange  hcl.Range `hcl:",def_range"`
	Body       hcl.Body  `hcl:",body"`
}

// HAProxy configures HAProxy and the haproxy-marathon-bridge on every node.
type HAProxy struct {
	StatsAuth string    `hcl:"stats_auth,optional"`
	StatsPort *int      `hcl:"stats_port,optional"`
	DeclRange hcl.Range `hcl:",def_range"`
	Body      hcl.Body  `hcl:",body"`
}

// App is a Marathon application.
type App struct {
	Name        string            `hcl:"name,label"`
	ClusterExpr hcl.Expression    `hcl:"cluster"`
	ID          string            `hcl:"id,optional"`
	Cmd         string            `hcl:"cmd,optional"`
	Args        []string          `hcl:"args,optional"`
	Instances   int               `hcl:"instances"`
	CPUs        float64           `hcl:"cpus"`
	Mem         float64           `hcl:"mem"`
	Ports       []int             `hcl:"ports,optional"`
	ImageExpr   hcl.Expression    `hcl:"image,optional"`
	Network     string            `hcl:"network,optional"` // BRIDGE | HOST
	Constraints [][]string        `hcl:"constraints,optional"`
	Env         map[string]string `hcl:"env,optional"`
	HealthCheck *HealthCheck      `hcl:"health_check,block"`
	// DependsExpr lists the apps Marathon deploys before this one (app
	// references; Marathon 0.8's dependencies).
	DependsExpr hcl.Expression `hcl:"dependencies,optional"`
	DeclRange   hcl.Range      `hcl:",def_range"`
	Body        hcl.Body       `hcl:",body"`

	Cluster      *Cluster // resolved
	Image        *Image   // resolved, may be nil
	Dependencies []*App   // resolved
}

// Job is a Chronos job: a command run on a schedule (an ISO 8601 repeating
// interval) or after its parents, by the Chronos of its cluster.
type Job struct {
	Name        string            `hcl:"name,label"`
	ClusterExpr hcl.Expression    `hcl:"cluster"`
	Command     string            `hcl:"command"`
	Owner       string            `hcl:"owner"`
	Schedule    string            `hcl:"schedule,optional"` // R[n]/start/period
	ParentsExpr hcl.Expression    `hcl:"parents,optional"`  // list of job references
	ImageExpr   hcl.Expression    `hcl:"image,optional"`
	CPUs        *float64          `hcl:"cpus,optional"`
	Mem         *float64          `hcl:"mem,optional"`
	Disk        *float64          `hcl:"disk,optional"`
	Epsilon     string            `hcl:"epsilon,optional"`
	Retries     *int              `hcl:"retries,optional"`
	Constraints [][]string        `hcl:"constraints,optional"`
	Env         map[string]string `hcl:"env,optional"`
	Description string            `hcl:"description,optional"`
	DeclRange   hcl.Range         `hcl:",def_range"`
	Body        hcl.Body          `hcl:",body"`

	Cluster *Cluster // resolved
	Image   *Image   // resolved, may be nil
	Parents []*Job   // resolved
}

// HealthCheck is a Marathon health check.
type HealthCheck struct {
	Protocol               string    `hcl:"protocol,optional"` // HTTP | TCP | COMMAND
	Path                   string    `hcl:"path,optional"`
	PortIndex              int       `hcl:"port_index,optional"`
	GracePeriodSeconds     *int      `hcl:"grace_period_seconds,optional"`
	IntervalSeconds        *int      `hcl:"interval_seconds,optional"`
	TimeoutSeconds         *int      `hcl:"timeout_seconds,optional"`
	MaxConsecutiveFailures *int      `hcl:"max_consecutive_failures,optional"`
	DeclRange              hcl.Range `hcl:",def_range"`
}

// Image is a container image carried in the bundle.
type Image struct {
	Name       string    `hcl:"name,label"`
	Ref        string    `hcl:"ref"` // registry ref, oci-layout:DIR[:tag] or docker-archive:FILE
	Platform   string    `hcl:"platform,optional"`
	Platforms  []string  `hcl:"platforms,optional"`
	MediaTypes string    `hcl:"media_types,optional"` // "preserve" | "oci"; "" = the bundle's image_media_types
	DeclRange  hcl.Range `hcl:",def_range"`
	Body       hcl.Body  `hcl:",body"`
	Dir        string
}

// AllPlatforms returns the platforms requested; none means the source as it
// is (a single image, or every platform of an index).
func (i *Image) AllPlatforms() []string {
	var out []string
	if i.Platform != "" {
		out = append(out, i.Platform)
	}
	return append(out, i.Platforms...)
}

// VMTemplate is a VM template shipped as OVF/OVA.
type VMTemplate struct {
	Name            string          `hcl:"name,label"`
	GuestOS         string          `hcl:"guest_os"`
	CPU             int             `hcl:"cpu"`
	MemoryMB        int             `hcl:"memory_mb"`
	Firmware        string          `hcl:"firmware,optional"`
	HardwareVersion string          `hcl:"hardware_version,optional"`
	Disk            string          `hcl:"disk,optional"`    // boot disk: a stream-optimized VMDK
	Network         string          `hcl:"network,optional"` // network of the first NIC
	Disks           []*TemplateDisk `hcl:"data_disk,block"`
	NICs            []*NIC          `hcl:"nic,block"`
	Properties      []*Property     `hcl:"property,block"`
	Annotation      string          `hcl:"annotation,optional"`
	DeclRange       hcl.Range       `hcl:",def_range"`
	Body            hcl.Body        `hcl:",body"`
	Dir             string
}

// TemplateDisk is a disk of a VM template: a stream-optimized VMDK or an
// empty disk of a size.
type TemplateDisk struct {
	Path      string    `hcl:"path,optional"`
	SizeGB    int       `hcl:"size_gb,optional"`
	DeclRange hcl.Range `hcl:",def_range"`
}

// NIC is a VM template's network adapter.
type NIC struct {
	Network   string    `hcl:"network"`
	Adapter   string    `hcl:"adapter,optional"`
	DeclRange hcl.Range `hcl:",def_range"`
}

// Property is a vApp property of a VM template.
type Property struct {
	Key              string    `hcl:"key,label"`
	Type             string    `hcl:"type,optional"`
	Default          string    `hcl:"default,optional"`
	Label            string    `hcl:"label,optional"`
	Description      string    `hcl:"description,optional"`
	Password         bool      `hcl:"password,optional"`
	UserConfigurable *bool     `hcl:"user_configurable,optional"`
	DeclRange        hcl.Range `hcl:",def_range"`
}

// VCenter is a deploy target. Credentials never appear in the definition.
type VCenter struct {
	Name             string    `hcl:"name,label"`
	Datacenter       string    `hcl:"datacenter,optional"`
	Datastore        string    `hcl:"datastore,optional"`
	Folder           string    `hcl:"folder,optional"`
	Library          string    `hcl:"library,optional"`
	ResourcePool     string    `hcl:"resource_pool,optional"`
	Network          string    `hcl:"network,optional"`
	DatastorePath    string    `hcl:"datastore_path,optional"` // datastore folder for the serengeti/ tree
	Registry         string    `hcl:"registry,optional"`       // site container registry host[:port]
	ManagementServer string    `hcl:"management_server,optional"`
	DeclRange        hcl.Range `hcl:",def_range"`
	Body             hcl.Body  `hcl:",body"`
}

// Sources returns the sources of the definition files and variable files,
// for rendering diagnostics with snippets. The text of sensitive values
// (defaults of sensitive variables, their values in var files) is masked
// with '*' (newlines kept), so a snippet never shows it.
func (d *Definition) Sources() map[string]*hcl.File {
	m := make(map[string]*hcl.File, len(d.Files)+len(d.VarFiles))
	maps.Copy(m, d.Files)
	maps.Copy(m, d.VarFiles)
	own := func(name string) *hcl.File {
		f := m[name]
		if f != nil && (f == d.Files[name] || f == d.VarFiles[name]) {
			f = &hcl.File{Body: f.Body, Bytes: append([]byte(nil), f.Bytes...), Nav: f.Nav}
			m[name] = f
		}
		return f
	}
	for _, r := range d.secretRanges {
		f := m[r.Filename]
		if f == nil || r.End.Byte > len(f.Bytes) || r.Start.Byte > r.End.Byte {
			continue
		}
		f = own(r.Filename)
		for i := r.Start.Byte; i < r.End.Byte; i++ {
			if f.Bytes[i] != '\n' && f.Bytes[i] != '\r' {
				f.Bytes[i] = '*'
			}
		}
	}
	// Snippets print source lines as they are: control characters (an
	// escape sequence that clears the terminal or sets its title) are shown
	// as '?', byte for byte, so that every range still points where it did.
	for name, f := range m {
		if !hasControl(f.Bytes) {
			continue
		}
		f = own(name)
		for i := 0; i < len(f.Bytes); i++ {
			if n := controlLen(f.Bytes, i); n > 0 {
				for k := range n {
					f.Bytes[i+k] = '?'
				}
				i += n - 1
			}
		}
	}
	return m
}

// controlLen returns the length of the control character other than tab,
// newline and carriage return (C0, DEL, or a C1 character's two bytes in
// UTF-8) that starts at b[i], or 0.
func controlLen(b []byte, i int) int {
	c := b[i]
	switch {
	case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
		return 1
	case c == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] < 0xa0:
		return 2
	}
	return 0
}

// hasControl reports whether b holds a control character controlLen finds.
func hasControl(b []byte) bool {
	for i := range b {
		if controlLen(b, i) > 0 {
			return true
		}
	}
	return false
}
