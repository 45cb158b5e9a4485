package compiler

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/vmtemplate"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Compile checks d and turns it into a Plan, in four steps: the Plan's parts
// (plan), the one check pass (check.go), the renderers of the output
// families (render.go), and the check of the rendered plan's paths
// (checkLayout). It is pure: everything it knows about the inputs arrives in
// facts (see Wanted for what to gather).
func Compile(d *sitedef.Definition, facts *Facts) (*Plan, hcl.Diagnostics) {
	c := &compiler{d: d, facts: facts}
	p, repos := c.plan()
	c.check(p, repos)
	c.render(p, repos)
	c.checkLayout(p, repos)
	c.markSensitiveFiles(p)
	c.redactPlan(p)
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Path < p.Files[j].Path })
	for _, f := range p.Files {
		f.Size = len(f.Data)
	}
	return p, FoldConsequences(c.diags)
}

type compiler struct {
	d     *sitedef.Definition
	facts *Facts
	diags hcl.Diagnostics

	// archives are the images delivered as docker load archives, by image
	// name; archiveURLs their URLs at the site, by cluster then image.
	archives    map[string]*DockerArchivePlan
	archiveURLs map[string]map[string]string

	// The site's manifest (the upgrade block), read once by siteManifest.
	oldDone, oldOK bool
	oldEntries     []oldEntry
	oldFault       func() // reports what is wrong with the site's manifest

	// What the check pass learns that the renderers use: the hosts each
	// app may run on, and the image reference each app names.
	allowed   map[*sitedef.App][]host
	appImages map[*sitedef.App]string
	jobImages map[*sitedef.Job]string
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

// plan builds the Plan's parts from the definition and the facts: the
// repos with their inputs, distros, clusters, apps, images, templates and
// deploy targets. It reports nothing: an input that is not there is left out
// here and reported by the check pass.
func (c *compiler) plan() (*Plan, map[*sitedef.Repo]*RepoPlan) {
	d := c.d
	p := &Plan{DefinitionDigest: d.Digest}
	if b := d.Bundle; b != nil {
		p.Name, p.Version, p.Epoch, p.Description = b.Name, b.Version, b.EpochOr(0), b.Description
		p.SBOM, p.Provenance = SBOMPath, p.Dir()+ProvenanceSuffix
	}
	repos := map[*sitedef.Repo]*RepoPlan{}
	for _, r := range d.Repos {
		rp := c.repo(r)
		repos[r] = rp
		p.Repos = append(p.Repos, rp)
	}
	for _, ds := range d.Distros {
		p.Distros = append(p.Distros, c.distro(ds))
	}
	for _, cl := range d.Clusters {
		p.Clusters = append(p.Clusters, c.cluster(cl))
	}
	for _, a := range d.Apps {
		p.Apps = append(p.Apps, c.app(a))
	}
	for _, j := range d.Jobs {
		p.Jobs = append(p.Jobs, c.job(j))
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
	for _, v := range d.VCenters {
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
	return p, repos
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

// repo plans a repo and the inputs its packages and gpg_keys name (those
// that are there: checkRepo reports the rest).
func (c *compiler) repo(r *sitedef.Repo) *RepoPlan {
	rp := &RepoPlan{Name: r.Name, Version: r.Version, BaseURL: r.BaseURL,
		Dir:      repoDir(r.RepoPath(), r.Version),
		RepoFile: repoFilePath(r.Name)}
	if i := strings.Index(r.BaseURL, "/repos/"); i > 0 {
		rp.RepoURL = r.BaseURL[:i] + "/" + r.Name + ".repo"
	}
	if c.facts == nil {
		return rp // inputs unknown: nothing to place
	}
	seen := map[string]bool{}
	for _, pat := range r.Packages {
		g := c.facts.Globs[InputPath(r.Dir, pat)]
		if g.Err != "" {
			return rp
		}
		for _, f := range g.Files {
			base := filepath.Base(f.Path)
			if seen[base] {
				continue
			}
			seen[base] = true
			rp.Packages = append(rp.Packages, &Input{Src: f.Path, Rel: rel(r.Dir, f.Path), Dest: rp.Dir + "/" + base, Size: f.Size})
		}
	}
	sort.Slice(rp.Packages, func(i, j int) bool { return rp.Packages[i].Dest < rp.Packages[j].Dest })
	for _, k := range r.GPGKeys {
		src := InputPath(r.Dir, k)
		if fi := c.facts.Paths[src]; fi.Exists && !fi.Dir && fi.Special == "" {
			rp.GPGKeys = append(rp.GPGKeys, &Input{Src: src, Rel: rel(r.Dir, src), Dest: gpgKeyPath(filepath.Base(src)), Size: fi.Size})
		}
	}
	return rp
}

func (c *compiler) distro(ds *sitedef.Distro) *DistroPlan {
	dp := &DistroPlan{Name: ds.Name, Vendor: ds.Vendor, Version: ds.Version, Roles: ds.Roles}
	for _, r := range ds.Repos {
		dp.Repos = append(dp.Repos, r.Name)
	}
	if o, ok := c.oldEntryNamed(ds.Name); ok && o.Version != ds.Version {
		dp.Previous = o.Version
	}
	return dp
}

var instanceTypes = []string{"SMALL", "MEDIUM", "LARGE", "EXTRA_LARGE"}
var haFlags = []string{"on", "off", "ft"}

func (c *compiler) cluster(cl *sitedef.Cluster) *ClusterPlan {
	cp := &ClusterPlan{Name: cl.Name, Marathon: cl.Marathon}
	if cl.Distro != nil {
		cp.Distro = cl.Distro.Name
		cp.Mesos = cl.Distro.Version
	}
	if run := cl.Running; run != nil {
		cp.Running = &RunningPlan{Distro: run.Distro, Version: run.Version}
		if ds := cl.Distro; ds != nil && run.Distro == ds.Name {
			cp.Moves = run.Version != ds.Version
		}
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
	}
	return cp
}

func (c *compiler) app(a *sitedef.App) *AppPlan {
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
	return ap
}

func (c *compiler) image(im *sitedef.Image) *ImagePlan {
	ip := &ImagePlan{Name: im.Name, Ref: im.Ref, Written: im.Ref, Platforms: im.AllPlatforms(), MediaTypes: ImageMediaTypes(c.d, im)}
	if _, _, _, ok := localImage(im); ok {
		ip.Ref = ImageSource(im)
	}
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
func (c *compiler) checkImageArch(im *sitedef.Image, declared []string) {
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

// template plans a VM template: its OVF descriptor and the disks that are
// there (checkTemplate reports the rest).
func (c *compiler) template(t *sitedef.VMTemplate) *TemplatePlan {
	tp := NewTemplatePlan(t.Name)
	tp.GuestOS, tp.CPU, tp.MemoryMB = t.GuestOS, t.CPU, t.MemoryMB
	addDisk := func(path string) bool {
		src := InputPath(t.Dir, path)
		var size int64
		if c.facts != nil {
			fi := c.facts.Paths[src]
			if !fi.Exists || fi.Dir || fi.Special != "" {
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
		if addDisk(t.Disk) {
			tp.OVF.Disks = append(tp.OVF.Disks, vmtemplate.Disk{Path: tp.Disks[len(tp.Disks)-1].Src})
		}
	}
	for _, dd := range t.Disks {
		switch {
		case dd.Path != "" && dd.SizeGB != 0:
			// Refused by checkTemplate.
		case dd.Path != "":
			if addDisk(dd.Path) {
				tp.OVF.Disks = append(tp.OVF.Disks, vmtemplate.Disk{Path: tp.Disks[len(tp.Disks)-1].Src})
			}
		case dd.SizeGB <= 0:
			// Refused by checkTemplate.
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
