package compiler

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// builtinVendors are the distro vendors BDE 2.1 knows out of the box
// (serengeti.properties serengeti.distro_vendor).
var builtinVendors = []string{"Apache", "GPHD", "HDP", "CDH", "MAPR", "PHD", "BIGTOP", "KUBERNETES", "MESOS"}

// Paths of the BDE files the compiler renders.
const (
	manifestPath      = "serengeti/www/distros/manifest"
	specsMapPath      = "serengeti/www/specs/map"
	distroVendorPath  = "serengeti/conf/serengeti.properties.d/distro_vendor"
	specsDir          = "serengeti/www/specs/"
	defaultAppManager = "Default"
)

// manifestDistro is an entry of the BDE distro manifest (DistroManager's
// Gson Distro).
type manifestDistro struct {
	Name         string            `json:"name"`
	Vendor       string            `json:"vendor"`
	Version      string            `json:"version"`
	HVESupported bool              `json:"hveSupported"`
	Packages     []manifestPackage `json:"packages"`
}

type manifestPackage struct {
	Roles        []string `json:"roles"`
	Tarball      string   `json:"tarball,omitempty"`
	PackageRepos []string `json:"package_repos,omitempty"`
}

// renderBDE renders the files of the BDE management server: the distro
// manifest, the Web Client's specs map and templates, the distro_vendor line,
// and each cluster's spec.json.
func (c *compiler) renderBDE(repos map[*sitedef.Repo]*RepoPlan) []*File {
	var fs files
	c.renderManifest(&fs, repos)
	c.renderSpecs(&fs)
	for _, cl := range c.d.Clusters {
		c.renderClusterSpec(&fs, cl)
	}
	return fs
}

// checkManifest checks what the distro manifest says: BDE needs the URL of
// the .repo file of every repo of a distro; and the entries it keeps.
func (c *compiler) checkManifest(repos map[*sitedef.Repo]*RepoPlan) {
	for _, ds := range c.d.Distros {
		for _, r := range ds.Repos {
			if rp := repos[r]; rp != nil && rp.RepoURL == "" {
				c.errorf(attrRange(r.Body, "base_url", r.DeclRange), "No repo URL", "Repo %q is used by distro %q, so BDE needs the URL of its .repo file: set base_url to the URL the site serves it at, like https://bde.localdomain/yum/repos/%s/%s/ (the .repo file is then https://bde.localdomain/yum/%s.repo).", r.Name, ds.Name, r.RepoPath(), r.Version, r.Name)
			}
		}
	}
	c.checkKeptEntries(repos)
}

// renderManifest renders the distro manifest: one entry per distro block,
// and each entry of the site's manifest (the upgrade block) that no distro
// block names, written back as it is. A distro block of an entry's name
// updates that entry in place.
func (c *compiler) renderManifest(fs *files, repos map[*sitedef.Repo]*RepoPlan) {
	// An entry is a distro block's, or (raw set) a kept entry of the
	// site's manifest.
	type entry = oldEntry
	var entries []entry
	for _, ds := range c.d.Distros {
		e := manifestDistro{Name: ds.Name, Vendor: ds.Vendor, Version: ds.Version, HVESupported: ds.HVESupported != nil && *ds.HVESupported}
		pkg := manifestPackage{Roles: slices.Clone(ds.Roles)}
		for _, r := range ds.Repos {
			rp := repos[r]
			if rp == nil || rp.RepoURL == "" {
				continue // checkManifest: "No repo URL"
			}
			pkg.PackageRepos = append(pkg.PackageRepos, rp.RepoURL)
		}
		e.Packages = []manifestPackage{pkg}
		entries = append(entries, entry{manifestDistro: e})
	}
	entries = append(entries, c.keptEntries()...)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	out := []any{}
	for _, e := range entries {
		if e.raw != nil {
			out = append(out, e.raw)
			continue
		}
		out = append(out, e.manifestDistro)
	}
	fs.add(manifestPath, marshal(out), false)
}

// specsMapEntry is an entry of www/specs/map, the Web Client's template
// chooser.
type specsMapEntry struct {
	Vendor     string `json:"vendor"`
	Version    string `json:"version"`
	Type       string `json:"type"`
	AppManager string `json:"appManager"`
	Path       string `json:"path"`
}

// templateGroup is a node group of a Web Client template spec; values are
// plain or "[default,min,max]" strings.
type templateGroup struct {
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Roles         []string        `json:"roles"`
	InstanceType  string          `json:"instanceType,omitempty"`
	GroupType     string          `json:"groupType"`
	InstanceNum   any             `json:"instanceNum"`
	CPUNum        any             `json:"cpuNum,omitempty"`
	MemCapacityMB any             `json:"memCapacityMB,omitempty"`
	Storage       templateStorage `json:"storage"`
	HAFlag        string          `json:"haFlag"`
	Editable      string          `json:"editable,omitempty"`
}

type templateStorage struct {
	Type   string `json:"type"`
	SizeGB any    `json:"sizeGB,omitempty"`
}

type templateSpec struct {
	NodeGroups []templateGroup `json:"nodeGroups"`
}

// vendors returns the vendors of the definition's distros, sorted.
func (c *compiler) vendors() []string {
	var out []string
	for _, ds := range c.d.Distros {
		if !slices.Contains(out, ds.Vendor) {
			out = append(out, ds.Vendor)
		}
	}
	sort.Strings(out)
	return out
}

// renderSpecs renders www/specs/map, one www/specs/<Vendor>/spec.json per
// vendor and the serengeti.distro_vendor line.
func (c *compiler) renderSpecs(fs *files) {
	var entries []specsMapEntry
	for _, vendor := range c.vendors() {
		var versions []string
		for _, ds := range c.d.Distros {
			if ds.Vendor == vendor {
				versions = append(versions, regexp.QuoteMeta(ds.Version))
			}
		}
		for _, o := range c.oldEntries {
			if o.Vendor == vendor && !slices.ContainsFunc(c.d.Distros, func(ds *sitedef.Distro) bool { return ds.Name == o.Name }) {
				versions = append(versions, regexp.QuoteMeta(o.Version))
			}
		}
		sort.Strings(versions)
		versions = slices.Compact(versions)
		entries = append(entries, specsMapEntry{Vendor: vendor, Version: "^(" + strings.Join(versions, "|") + ")$",
			Type: "Mesos Cluster", AppManager: defaultAppManager, Path: vendor + "/spec.json"})
		fs.add(specsDir+vendor+"/spec.json", marshal(c.templateSpec(vendor)), false)
	}
	if entries == nil {
		entries = []specsMapEntry{}
	}
	fs.add(specsMapPath, marshal(entries), false)

	list := slices.Clone(builtinVendors)
	for _, v := range c.vendors() {
		if !slices.ContainsFunc(list, func(b string) bool { return strings.EqualFold(b, v) }) {
			list = append(list, v)
		}
	}
	fs.add(distroVendorPath, []byte("serengeti.distro_vendor="+strings.Join(list, ",")+"\n"), false)
}

// templateSpec builds the Web Client template of a vendor from the first
// cluster (by name) whose distro is of that vendor, or a generic layout.
func (c *compiler) templateSpec(vendor string) templateSpec {
	var cl *sitedef.Cluster
	for _, x := range c.d.Clusters {
		if x.Distro != nil && x.Distro.Vendor == vendor && (cl == nil || x.Name < cl.Name) {
			cl = x
		}
	}
	spec := templateSpec{NodeGroups: []templateGroup{}}
	if cl == nil {
		spec.NodeGroups = append(spec.NodeGroups,
			templateGroup{Name: "master", Description: "Mesos masters with ZooKeeper, Marathon and Chronos.", Roles: []string{"zookeeper", "mesos_master", "mesos_marathon", "mesos_chronos"},
				GroupType: "master", InstanceNum: 3, CPUNum: 2, MemCapacityMB: 4096, Storage: templateStorage{Type: "SHARED", SizeGB: 20}, HAFlag: "on", Editable: "false"},
			templateGroup{Name: "worker", Description: "Mesos slaves running Docker. User can specify the size of the VM.", Roles: []string{"mesos_slave", "mesos_docker"},
				InstanceType: "[MEDIUM,SMALL,LARGE,EXTRA_LARGE]", GroupType: "worker", InstanceNum: "[3,1,max]", CPUNum: "[4,1,max]", MemCapacityMB: "[8192,2048,max]",
				Storage: templateStorage{Type: "SHARED", SizeGB: "[50,10,max]"}, HAFlag: "off"})
		return spec
	}
	for _, g := range cl.NodeGroups {
		st := storageOf(g)
		tg := templateGroup{Name: g.Name, Roles: slices.Clone(g.Roles), HAFlag: haFlag(g), Storage: templateStorage{Type: st.Type}}
		if hasRole(g, "mesos_slave") {
			tg.GroupType = "worker"
			tg.Description = "Mesos slaves (" + strings.Join(g.Roles, ", ") + "). User can specify the size of the VM."
			dflt := g.InstanceType
			if dflt == "" {
				dflt = "MEDIUM"
			}
			types := []string{dflt}
			for _, t := range instanceTypes {
				if t != dflt {
					types = append(types, t)
				}
			}
			tg.InstanceType = "[" + strings.Join(types, ",") + "]"
			tg.InstanceNum = fmt.Sprintf("[%d,1,max]", g.Instances)
			if g.CPU > 0 {
				tg.CPUNum = fmt.Sprintf("[%d,1,max]", g.CPU)
			}
			if g.MemoryMB > 0 {
				tg.MemCapacityMB = fmt.Sprintf("[%d,%d,max]", g.MemoryMB, min(g.MemoryMB, 2048))
			}
			if st.SizeGB > 0 {
				tg.Storage.SizeGB = fmt.Sprintf("[%d,%d,max]", st.SizeGB, min(st.SizeGB, 10))
			}
		} else {
			tg.GroupType = "master"
			tg.Description = "Mesos control plane (" + strings.Join(g.Roles, ", ") + ")."
			tg.InstanceType = g.InstanceType
			tg.InstanceNum = g.Instances
			if g.CPU > 0 {
				tg.CPUNum = g.CPU
			}
			if g.MemoryMB > 0 {
				tg.MemCapacityMB = g.MemoryMB
			}
			if st.SizeGB > 0 {
				tg.Storage.SizeGB = st.SizeGB
			}
			tg.Editable = "false"
		}
		spec.NodeGroups = append(spec.NodeGroups, tg)
	}
	return spec
}

func haFlag(g *sitedef.NodeGroup) string {
	if g.HA != "" {
		return g.HA
	}
	return "off"
}

// clusterStorage is BDE's StorageRead as the CLI spec writes it.
type clusterStorage struct {
	Type    string   `json:"type"`
	SizeGB  int      `json:"sizeGB,omitempty"`
	DSNames []string `json:"dsNames,omitempty"`
}

// storageOf merges a node group's storage block over its storage profile.
func storageOf(g *sitedef.NodeGroup) clusterStorage {
	st := clusterStorage{Type: "SHARED"}
	if sp := g.StorageProfile; sp != nil {
		st.Type = strings.ToUpper(sp.Storage)
		st.DSNames = slices.Clone(sp.Datastores)
	}
	if s := g.Storage; s != nil {
		if s.Type != "" {
			st.Type = strings.ToUpper(s.Type)
		}
		st.SizeGB = s.SizeGB
		if len(s.Datastores) > 0 {
			st.DSNames = slices.Clone(s.Datastores)
		}
	}
	return st
}

type clusterGroup struct {
	Name          string         `json:"name"`
	Roles         []string       `json:"roles"`
	InstanceNum   int            `json:"instanceNum"`
	InstanceType  string         `json:"instanceType,omitempty"`
	CPUNum        int            `json:"cpuNum,omitempty"`
	MemCapacityMB int            `json:"memCapacityMB,omitempty"`
	Storage       clusterStorage `json:"storage"`
	HAFlag        string         `json:"haFlag"`
	Configuration map[string]any `json:"configuration"`
}

type clusterSpec struct {
	Name          string         `json:"name"`
	Distro        string         `json:"distro"`
	DistroVendor  string         `json:"distroVendor"`
	DistroVersion string         `json:"distroVersion"`
	NodeGroups    []clusterGroup `json:"nodeGroups"`
	Configuration map[string]any `json:"configuration"`
}

// renderClusterSpec renders clusters/<c>/spec.json for `cluster create
// --specFile`: each group's roles with the bundle's roles around them, and
// the offline hooks in the cluster's configuration.
func (c *compiler) renderClusterSpec(fs *files, cl *sitedef.Cluster) {
	spec := clusterSpec{Name: cl.Name, NodeGroups: []clusterGroup{}, Configuration: c.clusterConfiguration(cl)}
	if ds := cl.Distro; ds != nil {
		spec.Distro, spec.DistroVendor, spec.DistroVersion = ds.Name, ds.Vendor, ds.Version
	}
	for _, g := range cl.NodeGroups {
		spec.NodeGroups = append(spec.NodeGroups, clusterGroup{Name: g.Name, Roles: c.specRoles(g), InstanceNum: g.Instances,
			InstanceType: g.InstanceType, CPUNum: g.CPU, MemCapacityMB: g.MemoryMB, Storage: storageOf(g), HAFlag: haFlag(g),
			Configuration: map[string]any{}})
	}
	fs.add("clusters/"+cl.Name+"/spec.json", marshal(spec), false)
}

// bdeSinks are the strings of the definition that land in the BDE files (bde.go renders them) and the syntaxes each must fit:
// rows of the table checkSyntax checks (syntax.go).
var bdeSinks = []sink{
	{"repo.base_url", ".repo baseurl line, distro manifest (JSON)", []Syntax{SyntaxURL, SyntaxLine}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, r := range d.Repos {
			if r.BaseURL != "" {
				emit(attrOcc(r.Body, "base_url", r.DeclRange, "repo "+r.Name, r.BaseURL, "repo."+r.Name+".base_url"))
			}
		}
	}},
	{"storage_profile label, backend, datastores", "cluster spec.json, Web Client spec.json", []Syntax{SyntaxJSON}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, sp := range d.StorageProfiles {
			emit(attrOcc(sp.Body, "backend", sp.DeclRange, "storage_profile "+sp.Name, sp.Backend, "storage_profile."+sp.Name+".backend"))
			for _, ds := range sp.Datastores {
				emit(attrOcc(sp.Body, "datastores", sp.DeclRange, "storage_profile "+sp.Name, ds, "storage_profile."+sp.Name+".datastores"))
			}
		}
	}},
	{"node_group.storage.datastores", "cluster spec.json", []Syntax{SyntaxJSON}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			if s := g.Storage; s != nil {
				for _, ds := range s.Datastores {
					emit(attrOcc(s.Body, "datastores", s.DeclRange, "node group "+g.Name, ds, key+".storage.datastores"))
				}
			}
		})
	}},
}
