package compiler

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/internal/vmtemplate"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Compile checks d and turns it into a Plan. It is pure: everything it knows
// about the inputs arrives in facts (see Wanted for what to gather).
func Compile(d *def.Definition, facts *Facts) (*Plan, hcl.Diagnostics) {
	c := &compiler{d: d, facts: facts}
	p := c.plan()
	c.checkNotSensitive()
	c.markSensitiveFiles(p)
	c.redactPlan(p)
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Path < p.Files[j].Path })
	for _, f := range p.Files {
		f.Size = len(f.Data)
	}
	return p, c.diags
}

type compiler struct {
	d     *def.Definition
	facts *Facts
	diags hcl.Diagnostics

	warnedRegistry map[*def.Image]bool // images already warned about a missing registry

	// archives are the images delivered as docker load archives, by image
	// name; archiveURLs their URLs at the site, by cluster then image.
	archives    map[string]*DockerArchivePlan
	archiveURLs map[string]map[string]string

	// The site's manifest (the upgrade block), read once by siteManifest.
	oldDone, oldOK bool
	oldEntries     []oldEntry
}

func (c *compiler) errorf(subject hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject.Ptr()}
	c.diags = append(c.diags, d)
	return d
}

func (c *compiler) warnf(subject hcl.Range, summary, format string, args ...any) {
	c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject.Ptr()})
}

// attrRange returns the range of attribute name in body, or fallback.
func attrRange(body hcl.Body, name string, fallback hcl.Range) hcl.Range {
	if sb, ok := body.(*hclsyntax.Body); ok {
		if a, ok := sb.Attributes[name]; ok {
			return a.SrcRange
		}
	}
	return fallback
}

// suggest is " Did you mean \"X\"?" for the candidate X closest to name: one
// that differs only in case, else the closest by edit distance (at most 3,
// and less than name's length); "" when none is close.
func suggest(name string, candidates []string) string {
	for _, c := range candidates {
		if c != name && strings.EqualFold(c, name) {
			return fmt.Sprintf(" Did you mean %q?", c)
		}
	}
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein.Distance(name, c, nil); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= 3 && bestD < len(name) {
		return fmt.Sprintf(" Did you mean %q?", best)
	}
	return ""
}

func (c *compiler) plan() *Plan {
	d := c.d
	p := &Plan{DefinitionDigest: d.Digest}
	if b := d.Bundle; b != nil {
		p.Name, p.Version, p.Epoch, p.Description = b.Name, b.Version, b.EpochOr(0), b.Description
		p.SBOM, p.Provenance = SBOMPath, p.Dir()+ProvenanceSuffix
		if !validName(b.Name) {
			c.errorf(b.DeclRange, "Invalid bundle name", "The bundle name %q must start with a letter or digit and hold only letters, digits, '.', '_' and '-'; it names the bundle directory and archive.", b.Name)
		}
		if !validVersion(b.Version) {
			c.errorf(attrRange(b.Body, "version", b.DeclRange), "Invalid bundle version", "The version %q must start with a letter or digit and hold only letters, digits and . _ + ~ ^ -.", b.Version)
		}
		if b.Epoch != nil && *b.Epoch < 0 {
			c.errorf(attrRange(b.Body, "epoch", b.DeclRange), "Invalid epoch", "The epoch is a Unix time in seconds and cannot be negative.")
		}
		if b.ImageMediaTypes != "" && !validMediaTypes(b.ImageMediaTypes) {
			c.errorf(attrRange(b.Body, "image_media_types", b.DeclRange), "Invalid image_media_types", "image_media_types is \"preserve\" (keep the upstream manifests and digests) or \"oci\" (rewrite Docker manifests to OCI); got %q.%s", b.ImageMediaTypes, suggest(b.ImageMediaTypes, mediaTypes))
		}
	}
	c.checkSyntax()
	c.checkRegistries()
	for _, sp := range d.StorageProfiles {
		c.checkStorageProfile(sp)
	}
	repos := map[*def.Repo]*RepoPlan{}
	for _, r := range d.Repos {
		rp := c.repo(r)
		repos[r] = rp
		p.Repos = append(p.Repos, rp)
	}
	for _, ds := range d.Distros {
		p.Distros = append(p.Distros, c.distro(ds))
		c.checkClosure(ds)
	}
	c.checkSharedRepos()
	for _, cl := range d.Clusters {
		p.Clusters = append(p.Clusters, c.cluster(cl))
	}
	for _, a := range d.Apps {
		p.Apps = append(p.Apps, c.app(a))
	}
	for _, im := range d.Images {
		p.Images = append(p.Images, c.image(im))
	}
	if len(p.Images) > 0 {
		p.ImageLayout = manifest.ImagesDir
	}
	for _, t := range d.VMTemplates {
		p.Templates = append(p.Templates, c.template(t))
	}
	c.deriveTemplates(p)
	c.render(p, repos)
	c.checkLayout(p, repos)
	for _, v := range d.VCenters {
		if dp := v.DatastorePath; dp != "" && manifest.CheckRelPath(dp) != nil {
			c.errorf(attrRange(v.Body, "datastore_path", v.DeclRange), "Invalid datastore_path", "datastore_path is a clean relative folder of the datastore, like bundles/mesos-site (no leading '/', no '..'); got %q.", dp)
		}
		p.Targets = append(p.Targets, &Target{Name: v.Name, Datacenter: v.Datacenter, Datastore: v.Datastore, Folder: v.Folder,
			Library: v.Library, ResourcePool: v.ResourcePool, Network: v.Network, DatastorePath: v.DatastorePath,
			Registry: v.Registry, ManagementServer: v.ManagementServer})
	}
	// Every target pushes to the one site registry the apps point at.
	p.Registry = c.registry()
	for _, t := range p.Targets {
		if t.Registry == "" {
			t.Registry = p.Registry
		}
	}
	return p
}

var mediaTypes = []string{"preserve", "oci"}

// validMediaTypes reports whether s is a media_types mode.
func validMediaTypes(s string) bool { return s == "preserve" || s == "oci" }

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '.' || r == '_' || r == '-'))
		if !ok {
			return false
		}
	}
	return true
}

var storageTypes = []string{"shared", "local", "tempfs"}

func (c *compiler) checkStorageProfile(sp *def.StorageProfile) {
	if !slices.Contains(storageTypes, strings.ToLower(sp.Storage)) {
		c.errorf(attrRange(sp.Body, "storage", sp.DeclRange), "Invalid storage type",
			"storage must be one of %s (BDE storage types); got %q.%s", strings.Join(storageTypes, ", "), sp.Storage, suggest(sp.Storage, storageTypes))
	}
	if strings.TrimSpace(sp.Backend) == "" {
		c.errorf(attrRange(sp.Body, "backend", sp.DeclRange), "Empty backend", "Name the storage backend, like \"VMware VSAN\".")
	}
}

// special says what a path that is not a regular file is, for messages.
func special(fi PathFact) string {
	switch {
	case fi.Special != "":
		return " (it is a " + fi.Special + ")"
	case fi.Dir:
		return " (it is a directory)"
	}
	return ""
}

// rel is how an input is named in the plan and bundle.json: its path
// relative to the definition's directory. An input outside that directory
// has each leading ".." written as "_parent_" (bundle.json paths never hold
// ".."), which stays the same whatever the checkout path.
func rel(dir, path string) string {
	r, err := filepath.Rel(dir, path)
	if err != nil {
		return filepath.Base(path)
	}
	segs := strings.Split(filepath.ToSlash(r), "/")
	for i, s := range segs {
		if s != ".." {
			break
		}
		segs[i] = parentSegment
	}
	return strings.Join(segs, "/")
}

// relPath is p relative to dir as the user would write it (p itself when
// it has no relative form).
func relPath(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// suggestPath is " Did you mean \"PATH\"?" for the sibling of the missing
// path closest to its name, written relative to dir; "" when none is close.
func suggestPath(dir, missing string, siblings []string) string {
	s := suggest(filepath.Base(missing), siblings)
	if s == "" {
		return ""
	}
	best := s[len(" Did you mean \"") : len(s)-len("\"?")]
	return fmt.Sprintf(" Did you mean %q?", relPath(dir, filepath.Join(filepath.Dir(missing), best)))
}

// parentSegment stands for ".." in the names of inputs outside the
// definition's directory.
const parentSegment = "_parent_"

func (c *compiler) repo(r *def.Repo) *RepoPlan {
	rp := &RepoPlan{Name: r.Name, Version: r.Version, BaseURL: r.BaseURL,
		Dir:      repoDir(r.RepoPath(), r.Version),
		RepoFile: repoFilePath(r.Name)}
	if !validVersion(r.Version) {
		c.errorf(attrRange(r.Body, "version", r.DeclRange), "Invalid repo version", "The version %q must start with a letter or digit and hold only letters, digits and . _ + ~ ^ -; it names the directory www/yum/repos/%s/VERSION.", r.Version, r.RepoPath())
	}
	if !validName(r.RepoPath()) {
		c.errorf(r.DeclRange, "Invalid repo path", "The repo directory %q may hold only letters, digits, '.', '_' and '-'.", r.RepoPath())
	}
	if r.BaseURL != "" {
		if u := r.BaseURL; !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "file://") {
			c.errorf(attrRange(r.Body, "base_url", r.DeclRange), "Invalid base_url", "base_url must be an http://, https:// or file:// URL; got %q.", u)
		}
		if i := strings.Index(r.BaseURL, "/repos/"); i > 0 {
			rp.RepoURL = r.BaseURL[:i] + "/" + r.Name + ".repo"
		}
	}
	pkgRange := attrRange(r.Body, "packages", r.DeclRange)
	if len(r.Packages) == 0 {
		c.errorf(pkgRange, "No packages", "A repo needs at least one RPM file, directory or glob in packages.")
	}
	if c.facts == nil {
		return rp // inputs unknown: nothing to place
	}
	seen := map[string]string{}
	for _, pat := range r.Packages {
		g := c.facts.Globs[InputPath(r.Dir, pat)]
		if g.Err != "" {
			c.errorf(pkgRange, "Cannot read packages", "%s", g.Err)
			return rp
		}
		if len(g.Files) == 0 {
			if g.Missing != "" {
				MarkCause(c.errorf(pkgRange, "Missing package path", "%q (relative to %s) does not exist, so %q names no package.%s",
					relPath(r.Dir, g.Missing), r.Dir, pat, suggestPath(r.Dir, g.Missing, g.Siblings)), RepoPackagesCause(r.Name))
				continue
			}
			MarkCause(c.errorf(pkgRange, "No package matches", "%q (relative to %s) matches no .rpm file.", pat, r.Dir), RepoPackagesCause(r.Name))
			continue
		}
		for _, f := range g.Files {
			base := filepath.Base(f.Path)
			if prev, ok := seen[base]; ok {
				if prev != f.Path {
					c.errorf(pkgRange, "Duplicate package file", "Two inputs are both named %s: %s and %s.", base, prev, f.Path)
				}
				continue
			}
			seen[base] = f.Path
			rp.Packages = append(rp.Packages, &Input{Src: f.Path, Rel: rel(r.Dir, f.Path), Dest: rp.Dir + "/" + base, Size: f.Size})
		}
	}
	sort.Slice(rp.Packages, func(i, j int) bool { return rp.Packages[i].Dest < rp.Packages[j].Dest })
	for _, k := range r.GPGKeys {
		src := InputPath(r.Dir, k)
		fi := c.facts.Paths[src]
		if !fi.Exists || fi.Dir || fi.Special != "" {
			what := "is not a readable regular file" + special(fi)
			if !fi.Exists {
				what = "does not exist"
			}
			MarkCause(c.errorf(attrRange(r.Body, "gpg_keys", r.DeclRange), "Missing GPG key file", "GPG key %q (relative to %s) %s.", k, r.Dir, what), RepoKeysCause(r.Name))
			continue
		}
		rp.GPGKeys = append(rp.GPGKeys, &Input{Src: src, Rel: rel(r.Dir, src), Dest: gpgKeyPath(filepath.Base(src)), Size: fi.Size})
	}
	return rp
}

func (c *compiler) distro(ds *def.Distro) *DistroPlan {
	dp := &DistroPlan{Name: ds.Name, Vendor: ds.Vendor, Version: ds.Version, Roles: ds.Roles}
	for _, r := range ds.Repos {
		dp.Repos = append(dp.Repos, r.Name)
	}
	c.checkReplacedAttrs(ds)
	c.checkDistroMoves(dp, ds)
	if !validName(ds.Vendor) || strings.ContainsAny(ds.Vendor, ".-") {
		c.errorf(attrRange(ds.Body, "vendor", ds.DeclRange), "Invalid vendor", "The vendor %q must be letters, digits and '_' (it is listed in serengeti.distro_vendor).", ds.Vendor)
	}
	if !validDotted(ds.Version) {
		c.errorf(attrRange(ds.Body, "version", ds.DeclRange), "Invalid distro version", "The version %q must be dotted numbers like 0.22.0.", ds.Version)
	}
	rolesRange := attrRange(ds.Body, "roles", ds.DeclRange)
	if len(ds.Roles) == 0 {
		c.errorf(rolesRange, "No roles", "A distro needs at least one role, like \"mesos_master\".")
	}
	seen := map[string]bool{}
	for _, r := range ds.Roles {
		if !slices.Contains(Roles, r) {
			c.errorf(rolesRange, "Unknown role", "%q is not a role of the BDE Mesos distro (%s).%s", r, strings.Join(Roles, ", "), suggest(r, Roles))
		}
		if seen[r] {
			c.errorf(rolesRange, "Duplicate role", "The role %q is listed twice; BDE allows each role once per distro.", r)
		}
		seen[r] = true
	}
	if len(ds.Repos) == 0 {
		c.errorf(attrRange(ds.Body, "repos", ds.DeclRange), "No repos", "A distro needs at least one repo reference, like [repo.mesos].")
	}
	return dp
}

var instanceTypes = []string{"SMALL", "MEDIUM", "LARGE", "EXTRA_LARGE"}
var haFlags = []string{"on", "off", "ft"}

func (c *compiler) cluster(cl *def.Cluster) *ClusterPlan {
	cp := &ClusterPlan{Name: cl.Name, Marathon: cl.Marathon}
	if cl.Distro != nil {
		cp.Distro = cl.Distro.Name
		cp.Mesos = cl.Distro.Version
	}
	if cl.Marathon != "" && !validDotted(cl.Marathon) {
		c.errorf(attrRange(cl.Body, "marathon", cl.DeclRange), "Invalid Marathon version", "The version %q must be dotted numbers like 0.8.0.", cl.Marathon)
	}
	if cl.Chronos != "" && !validDotted(cl.Chronos) {
		c.errorf(attrRange(cl.Body, "chronos", cl.DeclRange), "Invalid Chronos version", "The version %q must be dotted numbers like 2.3.0.", cl.Chronos)
	}
	c.checkBDENames(cl)
	c.checkRunning(cp, cl)
	if len(cl.NodeGroups) == 0 {
		c.errorf(cl.DeclRange, "No node groups", "A cluster needs at least one node_group block.")
	}
	for _, g := range cl.NodeGroups {
		ng := &NodeGroupPlan{Name: g.Name, Roles: g.Roles, Instances: g.Instances, CPU: g.CPU, MemoryMB: g.MemoryMB, Attributes: g.Attributes}
		if g.StorageProfile != nil {
			ng.StorageProfile = g.StorageProfile.Name
		}
		if g.Template != nil {
			ng.Template = g.Template.Name
		}
		cp.NodeGroups = append(cp.NodeGroups, ng)
		if g.Instances < 0 {
			c.errorf(attrRange(g.Body, "instances", g.DeclRange), "Invalid instance count", "instances must be 0 or more; got %d.", g.Instances)
		}
		if g.CPU < 0 {
			c.errorf(attrRange(g.Body, "cpu", g.DeclRange), "Invalid CPU count", "cpu must be 1 or more; got %d.", g.CPU)
		}
		if g.MemoryMB < 0 {
			c.errorf(attrRange(g.Body, "memory_mb", g.DeclRange), "Invalid memory size", "memory_mb must be positive; got %d.", g.MemoryMB)
		}
		if g.InstanceType != "" && !slices.Contains(instanceTypes, g.InstanceType) {
			c.errorf(attrRange(g.Body, "instance_type", g.DeclRange), "Invalid instance type", "instance_type must be one of %s; got %q.%s", strings.Join(instanceTypes, ", "), g.InstanceType, suggest(g.InstanceType, instanceTypes))
		}
		if g.HA != "" && !slices.Contains(haFlags, g.HA) {
			c.errorf(attrRange(g.Body, "ha", g.DeclRange), "Invalid HA flag", "ha must be one of on, off, ft; got %q.%s", g.HA, suggest(g.HA, haFlags))
		}
		if g.Storage != nil {
			if g.Storage.Type != "" && !slices.Contains(storageTypes, strings.ToLower(g.Storage.Type)) {
				c.errorf(attrRange(g.Storage.Body, "type", g.Storage.DeclRange), "Invalid storage type", "type must be one of %s; got %q.%s", strings.Join(storageTypes, ", "), g.Storage.Type, suggest(g.Storage.Type, storageTypes))
			}
			if g.Storage.SizeGB < 0 {
				c.errorf(attrRange(g.Storage.Body, "size_gb", g.Storage.DeclRange), "Invalid disk size", "size_gb must be positive; got %d.", g.Storage.SizeGB)
			}
		}
		rolesRange := attrRange(g.Body, "roles", g.DeclRange)
		if len(g.Roles) == 0 {
			c.errorf(rolesRange, "No roles", "A node group needs at least one role.")
		}
		for _, r := range g.Roles {
			switch {
			case !slices.Contains(Roles, r):
				c.errorf(rolesRange, "Unknown role", "%q is not a role of the BDE Mesos distro (%s).%s", r, strings.Join(Roles, ", "), suggest(r, Roles))
			case cl.Distro != nil && !slices.Contains(cl.Distro.Roles, r):
				c.errorf(rolesRange, "Role not in distro", "The node group asks for role %q, but distro %q does not provide it (it has %s).", r, cl.Distro.Name, strings.Join(cl.Distro.Roles, ", "))
			}
		}
		for k, v := range g.Attributes {
			if v == "" {
				c.errorf(attrRange(g.Body, "attributes", g.DeclRange), "Empty Mesos attribute value", "Attribute %q has an empty value; Mesos attributes are name:value.", k)
			}
		}
	}
	return cp
}

func (c *compiler) app(a *def.App) *AppPlan {
	ap := &AppPlan{Name: a.Name, ID: a.ID, Instances: a.Instances, Constraints: a.Constraints}
	if ap.ID == "" {
		ap.ID = "/" + a.Name
	}
	if a.Cluster != nil {
		ap.Cluster = a.Cluster.Name
	}
	if a.Image != nil {
		ap.Image = a.Image.Name
	}
	if !appIDRE.MatchString(ap.ID) {
		c.errorf(attrRange(a.Body, "id", a.DeclRange), "Invalid app id", "The Marathon app id %q must be /-separated segments of lowercase letters, digits and '-' (not starting or ending with '-').", ap.ID)
	}
	if a.Instances < 0 {
		c.errorf(attrRange(a.Body, "instances", a.DeclRange), "Invalid instance count", "instances must be 0 or more; got %d.", a.Instances)
	}
	if a.CPUs <= 0 {
		c.errorf(attrRange(a.Body, "cpus", a.DeclRange), "Invalid CPU share", "cpus must be positive; got %g.", a.CPUs)
	}
	if a.Mem <= 0 {
		c.errorf(attrRange(a.Body, "mem", a.DeclRange), "Invalid memory", "mem (MB) must be positive; got %g.", a.Mem)
	}
	for _, port := range a.Ports {
		if port < 0 || port > 65535 {
			c.errorf(attrRange(a.Body, "ports", a.DeclRange), "Invalid port", "Port %d is outside 0-65535.", port)
		}
	}
	if a.Cmd != "" && len(a.Args) > 0 {
		c.errorf(attrRange(a.Body, "args", a.DeclRange), "Conflicting cmd and args", "Marathon accepts cmd or args, not both.")
	}
	if a.Cmd == "" && len(a.Args) == 0 && a.Image == nil {
		c.errorf(a.DeclRange, "Nothing to run", "An app needs cmd, args or an image.")
	}
	return ap
}

func (c *compiler) image(im *def.Image) *ImagePlan {
	ip := &ImagePlan{Name: im.Name, Ref: im.Ref, Written: im.Ref, Platforms: im.AllPlatforms(), MediaTypes: ImageMediaTypes(c.d, im)}
	r := attrRange(im.Body, "ref", im.DeclRange)
	if im.MediaTypes != "" && !validMediaTypes(im.MediaTypes) {
		c.errorf(attrRange(im.Body, "media_types", im.DeclRange), "Invalid media_types", "media_types is \"preserve\" (keep the upstream manifests and digests) or \"oci\" (rewrite Docker manifests to OCI); got %q.%s", im.MediaTypes, suggest(im.MediaTypes, mediaTypes))
	}
	if path, _, prefix, ok := localImage(im); ok {
		var fi PathFact
		if c.facts != nil {
			fi = c.facts.Paths[path]
		}
		if c.facts != nil && !fi.Exists {
			MarkCause(c.errorf(r, "Missing image source", "The image source %q (relative to %s) does not exist.", strings.TrimPrefix(im.Ref, prefix), im.Dir), "image."+im.Name+".ref")
		} else if c.facts != nil && (fi.Special != "" || fi.Dir != (prefix == "oci-layout:")) {
			c.errorf(r, "Invalid image source", "The image source %q (relative to %s) is not a %s%s.", strings.TrimPrefix(im.Ref, prefix), im.Dir,
				map[bool]string{true: "directory (oci-layout: names an OCI image layout)", false: "regular file (docker-archive: names a docker save tar)"}[prefix == "oci-layout:"], special(fi))
		}
		ip.Ref = ImageSource(im)
	}
	if im.Ref == "" {
		c.errorf(r, "Empty image ref", "ref names a registry image (nginx:1.7.9), oci-layout:DIR[:tag] or docker-archive:FILE.")
	}
	for _, pl := range ip.Platforms {
		if os, arch, ok := strings.Cut(pl, "/"); !ok || os == "" || arch == "" {
			c.errorf(attrRange(im.Body, "platform", im.DeclRange), "Invalid platform", "Platforms are os/arch[/variant], like linux/amd64; got %q.", pl)
		}
	}
	c.checkImageArch(im, ip.Platforms)
	return ip
}

// rpmArchs maps an RPM architecture to the Go/OCI architecture of the
// nodes that install it.
var rpmArchs = map[string]string{"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x"}

// nodeArch is the architecture of the nodes, as OCI platforms name it and
// as RPMs do: that of the first architecture-specific package of the repos,
// else x86_64 (BDE deploys x86_64 VMs).
func (c *compiler) nodeArch() (oci, rpm string) {
	if c.facts != nil {
		for _, r := range c.d.Repos {
			for _, p := range c.facts.Packages[r.Name] {
				if a, ok := rpmArchs[p.Arch]; ok {
					return a, p.Arch
				}
			}
		}
	}
	return "amd64", "x86_64"
}

// checkImageArch warns about an image none of whose platforms (as declared,
// else as the source provides them) runs on the nodes' architecture.
func (c *compiler) checkImageArch(im *def.Image, declared []string) {
	plats := declared
	if len(plats) == 0 && c.facts != nil {
		plats = c.facts.Images[im.Name].Platforms
	}
	if len(plats) == 0 {
		return
	}
	oci, rpm := c.nodeArch()
	for _, pl := range plats {
		os, rest, _ := strings.Cut(pl, "/")
		arch, _, _ := strings.Cut(rest, "/")
		if os == "linux" && arch == oci {
			return
		}
	}
	c.warnf(attrRange(im.Body, "ref", im.DeclRange), "Image for another architecture",
		"Image %q provides %s, and the nodes are %s (linux/%s): Docker on the slaves cannot run it. Name an image, or a platform of it, for linux/%s.",
		im.Name, strings.Join(plats, ", "), rpm, oci, oci)
}

func (c *compiler) template(t *def.VMTemplate) *TemplatePlan {
	tp := NewTemplatePlan(t.Name)
	tp.GuestOS, tp.CPU, tp.MemoryMB = t.GuestOS, t.CPU, t.MemoryMB
	before := len(c.diags.Errs())
	defer func() {
		// The whole template, its disks' headers included, once the block
		// itself is sound.
		if c.facts == nil || len(c.diags.Errs()) > before {
			return
		}
		if err := vmtemplate.Check(tp.OVF, c.probeDisk); err != nil {
			c.errorf(t.DeclRange, "Invalid VM template", "%v", err)
		}
	}()
	if t.CPU < 1 {
		c.errorf(attrRange(t.Body, "cpu", t.DeclRange), "Invalid CPU count", "cpu must be 1 or more; got %d.", t.CPU)
	}
	if t.MemoryMB < 4 {
		c.errorf(attrRange(t.Body, "memory_mb", t.DeclRange), "Invalid memory size", "memory_mb must be at least 4; got %d.", t.MemoryMB)
	}
	addDisk := func(path string, rng hcl.Range) bool {
		src := InputPath(t.Dir, path)
		var size int64
		if c.facts != nil {
			fi := c.facts.Paths[src]
			if !fi.Exists {
				MarkCause(c.errorf(rng, "Missing disk file", "The disk %q (relative to %s) does not exist.", path, t.Dir), "vm_template."+t.Name+".disk")
				return false
			}
			if fi.Dir || fi.Special != "" {
				c.errorf(rng, "Disk not a regular file", "The disk %q (relative to %s) is not a readable regular file%s.", path, t.Dir, special(fi))
				return false
			}
			size = fi.Size
		}
		tp.Disks = append(tp.Disks, &Input{Src: src, Rel: rel(t.Dir, src), Dest: tp.diskPath(len(tp.OVF.Disks)), Size: size})
		return true
	}
	// No bundle version in the descriptor: a template whose disks and
	// settings did not change keeps the same .ovf and .mf from one release
	// to the next, so deploy does not import it again.
	tp.OVF = vmtemplate.Template{Name: t.Name, GuestOS: t.GuestOS, CPUs: t.CPU, MemoryMB: t.MemoryMB, Firmware: t.Firmware,
		HardwareVersion: t.HardwareVersion, Annotation: t.Annotation, Product: c.d.Bundle.Name}
	if t.Disk != "" {
		if addDisk(t.Disk, attrRange(t.Body, "disk", t.DeclRange)) {
			tp.OVF.Disks = append(tp.OVF.Disks, vmtemplate.Disk{Path: tp.Disks[len(tp.Disks)-1].Src})
		}
	}
	for _, dd := range t.Disks {
		switch {
		case dd.Path != "" && dd.SizeGB != 0:
			c.errorf(dd.DeclRange, "Conflicting disk source", "A data_disk has either path (a VMDK) or size_gb (an empty disk), not both.")
		case dd.Path != "":
			if addDisk(dd.Path, dd.DeclRange) {
				tp.OVF.Disks = append(tp.OVF.Disks, vmtemplate.Disk{Path: tp.Disks[len(tp.Disks)-1].Src})
			}
		case dd.SizeGB <= 0:
			c.errorf(dd.DeclRange, "Empty data disk without size", "An empty data_disk needs size_gb > 0.")
		default:
			tp.OVF.Disks = append(tp.OVF.Disks, vmtemplate.Disk{CapacityMB: int64(dd.SizeGB) * 1024})
		}
	}
	if t.Network != "" {
		tp.OVF.NICs = append(tp.OVF.NICs, vmtemplate.NIC{Network: t.Network})
	}
	for _, n := range t.NICs {
		tp.OVF.NICs = append(tp.OVF.NICs, vmtemplate.NIC{Network: n.Network, Adapter: n.Adapter})
	}
	for _, p := range t.Properties {
		uc := true
		if p.UserConfigurable != nil {
			uc = *p.UserConfigurable
		}
		tp.OVF.Properties = append(tp.OVF.Properties, vmtemplate.Property{Key: p.Key, Type: p.Type, Default: p.Default,
			Label: p.Label, Description: p.Description, Password: p.Password, UserConfigurable: uc})
	}
	return tp
}

// probeDisk looks up a disk's header in the facts.
func (c *compiler) probeDisk(_ int, path string) (int64, error) {
	f, ok := c.facts.Disks[path]
	switch {
	case !ok:
		return 0, fmt.Errorf("%q was not probed", path)
	case f.Err != "":
		return 0, errors.New(f.Err)
	}
	return f.Capacity, nil
}
