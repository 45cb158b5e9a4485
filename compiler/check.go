package compiler

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/vmtemplate"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/hashicorp/hcl/v2"
)

// check is the compiler's one check pass over the definition and the facts:
// every diagnostic, each once, before anything is rendered (the renderers
// report nothing). It runs the definition's own checks block by block, then
// the checks across blocks and inputs, cluster by cluster. What the checks
// settle that the plan and the renderers use is kept: the hosts each app may
// run on (c.allowed), the image reference each app names (c.appImages) and
// the docker load archives it needs, and the derived templates (in p). Only
// checkLayout, which compares the rendered files' paths with the inputs',
// runs after rendering. Compile folds the errors that follow from a root
// cause into it at the end (FoldConsequences).
func (c *compiler) check(p *Plan, repos map[*sitedef.Repo]*RepoPlan) {
	// Each block of the definition.
	c.checkBundle()
	c.checkSyntax()
	c.checkRegistries()
	c.checkRegistry()
	each(c.d.VCenters, c.checkVCenter)
	each(c.d.StorageProfiles, c.checkStorageProfile)
	each(c.d.Repos, c.checkRepo)
	c.checkSiteManifest()
	each(c.d.Distros, c.checkDistro)
	each(c.d.Clusters, c.checkCluster)
	each(c.d.Apps, c.checkApp)
	c.checkAppDependencyCycles()
	each(c.d.Jobs, c.checkJob)
	c.checkJobCycles()
	each(c.d.Images, c.checkImage)
	for i, t := range c.d.VMTemplates {
		c.checkTemplate(t, p.Templates[i])
	}
	c.checkNotSensitive()

	// Across blocks and inputs: the packages, the manifest, the
	// templates the node groups derive, then each cluster.
	each(c.d.Distros, c.checkClosure)
	c.checkSharedRepos()
	c.checkRolePackages()
	c.checkManifest(repos)
	c.deriveTemplates(p)
	c.checkCookbookVersion()
	c.allowed = map[*sitedef.App][]host{}
	for _, cl := range c.d.Clusters {
		c.checkClusterAttrs(cl)
		c.checkAttributesWithoutSlave(cl)
		c.checkZookeeper(cl)
		c.checkPorts(cl)
		c.checkMesosFlags(cl)
		c.checkExecPaths(cl)
		for _, a := range c.appsOf(cl) {
			hs, ok := c.checkConstraints(a)
			if ok {
				c.checkPlacement(a, hs, bridged(a))
			}
			c.allowed[a] = hs
			c.checkAppImage(a)
			c.checkAppDependencies(a)
		}
		for _, j := range c.jobsOf(cl) {
			c.checkJobImage(j)
		}
		c.checkStatsAuth(cl)
		c.checkHAProxy(cl)
	}
	c.checkSiteRegistry()
}

// each checks every block of blocks, in order.
func each[T any](blocks []T, check func(T)) {
	for _, b := range blocks {
		check(b)
	}
}

var storageTypes = []string{"shared", "local", "tempfs"}

func (c *compiler) checkStorageProfile(sp *sitedef.StorageProfile) {
	if !slices.Contains(storageTypes, strings.ToLower(sp.Storage)) {
		c.errorf(attrRange(sp.Body, "storage", sp.DeclRange), "Invalid storage type",
			"storage must be one of %s (BDE storage types); got %q.%s", strings.Join(storageTypes, ", "), sp.Storage, suggest(sp.Storage, storageTypes))
	}
	if strings.TrimSpace(sp.Backend) == "" {
		c.errorf(attrRange(sp.Body, "backend", sp.DeclRange), "Empty backend", "Name the storage backend, like \"VMware VSAN\".")
	}
}

// checkRepo checks a repo block and the inputs it names: every package
// pattern names RPMs, no two of them share a file name, every GPG key file
// is there.
func (c *compiler) checkRepo(r *sitedef.Repo) {
	if !validVersion(r.Version) {
		c.errorf(attrRange(r.Body, "version", r.DeclRange), "Invalid repo version", "The version %q must start with a letter or digit and hold only letters, digits and . _ + ~ ^ -; it names the directory www/yum/repos/%s/VERSION.", r.Version, r.RepoPath())
	}
	if !validName(r.RepoPath()) {
		c.errorf(r.DeclRange, "Invalid repo path", "The repo directory %q may hold only letters, digits, '.', '_' and '-'.", r.RepoPath())
	}
	if u := r.BaseURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "file://") {
		c.errorf(attrRange(r.Body, "base_url", r.DeclRange), "Invalid base_url", "base_url must be an http://, https:// or file:// URL; got %q.", u)
	}
	pkgRange := attrRange(r.Body, "packages", r.DeclRange)
	if len(r.Packages) == 0 {
		c.errorf(pkgRange, "No packages", "A repo needs at least one RPM file, directory or glob in packages.")
	}
	if c.facts == nil {
		return // inputs unknown
	}
	seen := map[string]string{}
	for _, pat := range r.Packages {
		g := c.facts.Globs[InputPath(r.Dir, pat)]
		if g.Err != "" {
			c.errorf(pkgRange, "Cannot read packages", "%s", g.Err)
			return
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
		}
	}
	for _, k := range r.GPGKeys {
		fi := c.facts.Paths[InputPath(r.Dir, k)]
		if !fi.Exists || fi.Dir || fi.Special != "" {
			what := "is not a readable regular file" + special(fi)
			if !fi.Exists {
				what = "does not exist"
			}
			MarkCause(c.errorf(attrRange(r.Body, "gpg_keys", r.DeclRange), "Missing GPG key file", "GPG key %q (relative to %s) %s.", k, r.Dir, what), RepoKeysCause(r.Name))
		}
	}
}

// checkBundle checks the bundle block.
func (c *compiler) checkBundle() {
	b := c.d.Bundle
	if b == nil {
		return
	}
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

// checkVCenter checks a vcenter block's datastore path.
func (c *compiler) checkVCenter(v *sitedef.VCenter) {
	if dp := v.DatastorePath; dp != "" && manifest.CheckRelPath(dp) != nil {
		c.errorf(attrRange(v.Body, "datastore_path", v.DeclRange), "Invalid datastore_path", "datastore_path is a clean relative folder of the datastore, like bundles/mesos-site (no leading '/', no '..'); got %q.", dp)
	}
}

// checkDistro checks a distro block.
func (c *compiler) checkDistro(ds *sitedef.Distro) {
	c.checkReplacedAttrs(ds)
	c.checkDistroMoves(ds)
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
}

// checkCluster checks a cluster block and its node groups.
func (c *compiler) checkCluster(cl *sitedef.Cluster) {
	if cl.Marathon != "" && !validDotted(cl.Marathon) {
		c.errorf(attrRange(cl.Body, "marathon", cl.DeclRange), "Invalid Marathon version", "The version %q must be dotted numbers like 0.8.0.", cl.Marathon)
	}
	if cl.Chronos != "" && !validDotted(cl.Chronos) {
		c.errorf(attrRange(cl.Body, "chronos", cl.DeclRange), "Invalid Chronos version", "The version %q must be dotted numbers like 2.3.0.", cl.Chronos)
	}
	c.checkBDENames(cl)
	c.checkRunning(cl)
	if len(cl.NodeGroups) == 0 {
		c.errorf(cl.DeclRange, "No node groups", "A cluster needs at least one node_group block.")
	}
	for _, g := range cl.NodeGroups {
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
}

// checkApp checks an app block.
func (c *compiler) checkApp(a *sitedef.App) {
	if id := appID(a); !appIDRE.MatchString(id) {
		c.errorf(attrRange(a.Body, "id", a.DeclRange), "Invalid app id", "The Marathon app id %q must be /-separated segments of lowercase letters, digits and '-' (not starting or ending with '-').", id)
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
	c.checkHealthCheck(a)
}

// checkImage checks an image block and its local source.
func (c *compiler) checkImage(im *sitedef.Image) {
	platforms := im.AllPlatforms()
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
	}
	if im.Ref == "" {
		c.errorf(r, "Empty image ref", "ref names a registry image (nginx:1.7.9), oci-layout:DIR[:tag] or docker-archive:FILE.")
	}
	for _, pl := range platforms {
		if os, arch, ok := strings.Cut(pl, "/"); !ok || os == "" || arch == "" {
			c.errorf(attrRange(im.Body, "platform", im.DeclRange), "Invalid platform", "Platforms are os/arch[/variant], like linux/amd64; got %q.", pl)
		}
	}
	c.checkImageArch(im, platforms)
}

// checkTemplate checks a vm_template block, its disks, and then (once the
// block itself is sound) the whole template tp, its disks' headers included.
func (c *compiler) checkTemplate(t *sitedef.VMTemplate, tp *TemplatePlan) {
	before := len(c.diags.Errs())
	if t.CPU < 1 {
		c.errorf(attrRange(t.Body, "cpu", t.DeclRange), "Invalid CPU count", "cpu must be 1 or more; got %d.", t.CPU)
	}
	if t.MemoryMB < 4 {
		c.errorf(attrRange(t.Body, "memory_mb", t.DeclRange), "Invalid memory size", "memory_mb must be at least 4; got %d.", t.MemoryMB)
	}
	checkDisk := func(path string, rng hcl.Range) {
		if c.facts == nil {
			return
		}
		fi := c.facts.Paths[InputPath(t.Dir, path)]
		if !fi.Exists {
			MarkCause(c.errorf(rng, "Missing disk file", "The disk %q (relative to %s) does not exist.", path, t.Dir), "vm_template."+t.Name+".disk")
			return
		}
		if fi.Dir || fi.Special != "" {
			c.errorf(rng, "Disk not a regular file", "The disk %q (relative to %s) is not a readable regular file%s.", path, t.Dir, special(fi))
		}
	}
	if t.Disk != "" {
		checkDisk(t.Disk, attrRange(t.Body, "disk", t.DeclRange))
	}
	for _, dd := range t.Disks {
		switch {
		case dd.Path != "" && dd.SizeGB != 0:
			c.errorf(dd.DeclRange, "Conflicting disk source", "A data_disk has either path (a VMDK) or size_gb (an empty disk), not both.")
		case dd.Path != "":
			checkDisk(dd.Path, dd.DeclRange)
		case dd.SizeGB <= 0:
			c.errorf(dd.DeclRange, "Empty data disk without size", "An empty data_disk needs size_gb > 0.")
		}
	}
	if c.facts == nil || len(c.diags.Errs()) > before {
		return
	}
	if err := vmtemplate.Check(tp.OVF, c.probeDisk); err != nil {
		c.errorf(t.DeclRange, "Invalid VM template", "%v", err)
	}
}
