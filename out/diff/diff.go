package diff

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/bdebundle/bundle/internal/udiff"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/sbom"
)

// Delta is what changed from one bundle to the next: its release notes.
type Delta struct {
	Old       BundleID         `json:"old"`
	New       BundleID         `json:"new"`
	Packages  []PackageChange  `json:"packages"`
	Images    []ImageChange    `json:"images"`
	Templates []TemplateChange `json:"templates"`
	Distros   []DistroChange   `json:"distros"`
	Clusters  []ClusterChange  `json:"clusters"`
	Files     []FileChange     `json:"files"`
	// SBOM lists what changed in sbom.cdx.json: components added or
	// removed, versions, licenses, suppliers and digests. Empty when
	// either bundle has no SBOM.
	SBOM []sbom.Change `json:"sbom"`
}

// BundleID names a bundle.
type BundleID struct {
	Path    string `json:"path"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Change kinds.
const (
	Added      = "added"
	Removed    = "removed"
	Upgraded   = "upgraded"
	Downgraded = "downgraded"
	Rebuilt    = "rebuilt" // same NEVRA, different bytes
	Changed    = "changed"
)

// PackageChange is one RPM (by repo directory, name and arch) that
// changed. Repo is the directory under www/yum/repos (path/version), which
// is what a .repo file's baseurl names: a repo whose label is renamed
// keeps its packages.
type PackageChange struct {
	Repo   string `json:"repo"`
	Name   string `json:"name"`
	Arch   string `json:"arch"`
	Change string `json:"change"`
	Old    string `json:"old,omitempty"` // NEVRA
	New    string `json:"new,omitempty"`
}

// ImageChange is one image whose digest (or presence) changed.
type ImageChange struct {
	Name      string `json:"name"`
	Change    string `json:"change"`
	OldRef    string `json:"old_ref,omitempty"`
	NewRef    string `json:"new_ref,omitempty"`
	OldDigest string `json:"old_digest,omitempty"`
	NewDigest string `json:"new_digest,omitempty"`
}

// TemplateChange is one VM template whose descriptor changed.
type TemplateChange struct {
	Name   string `json:"name"`
	Change string `json:"change"`
}

// DistroChange is one BDE distro manifest entry, keyed by name as BDE
// keys it, added, removed, upgraded, downgraded (its version changed in
// place) or changed (its roles or repo directories). Clusters are the
// clusters of the new bundle created on it: an upgrade moves them.
type DistroChange struct {
	Name       string   `json:"name"`
	Vendor     string   `json:"vendor"`
	Version    string   `json:"version"`
	OldVersion string   `json:"old_version,omitempty"`
	Change     string   `json:"change"`
	Detail     string   `json:"detail,omitempty"`
	Clusters   []string `json:"clusters,omitempty"`
}

// ClusterChange is one cluster (by name), node group (by name) or
// Marathon app (by id) added, removed or changed; Detail says what.
type ClusterChange struct {
	Cluster   string `json:"cluster"`
	NodeGroup string `json:"node_group,omitempty"`
	App       string `json:"app,omitempty"`
	Job       string `json:"job,omitempty"`
	Change    string `json:"change"`
	Detail    string `json:"detail,omitempty"`
}

// FileChange is one rendered configuration file added, removed or changed,
// with a unified diff for text files.
type FileChange struct {
	Path   string `json:"path"`
	Change string `json:"change"`
	Binary bool   `json:"binary,omitempty"`
	// Sensitive is set when either side holds a sensitive value: Diff then
	// says only that it changed.
	Sensitive bool   `json:"sensitive,omitempty"`
	Diff      string `json:"diff,omitempty"`
}

// Empty reports whether nothing changed.
func (d *Delta) Empty() bool {
	return len(d.Packages)+len(d.Images)+len(d.Templates)+len(d.Distros)+len(d.Clusters)+len(d.Files)+len(d.SBOM) == 0
}

const maxDiffSize = 1 << 20

// isConfig reports whether a bundle path is a rendered configuration file,
// as opposed to an RPM, repository metadata, an image blob or a VM disk.
func isConfig(p string) bool {
	switch {
	case p == sbom.FileName,
		strings.HasSuffix(p, ".rpm"),
		strings.HasPrefix(p, manifest.ImagesDir+"/"),
		strings.HasPrefix(p, manifest.OVFDir+"/"),
		strings.Contains("/"+p, "/repodata/"):
		return false
	}
	return true
}

// Compare compares two bundles (directories or archives): packages by repo,
// name and arch in rpm version order, image digests, templates, distro
// manifest entries, the SBOMs, and rendered configuration files as unified
// diffs. An archive is read twice: as far as bundle.json, then once in full
// for the changed files and the SBOM.
func Compare(ctx context.Context, oldPath, newPath string) (*Delta, error) {
	om, err := read.Manifest(ctx, oldPath)
	if err != nil {
		return nil, err
	}
	nm, err := read.Manifest(ctx, newPath)
	if err != nil {
		return nil, err
	}
	om.Normalize()
	nm.Normalize()
	d := &Delta{
		Old: BundleID{Path: oldPath, Name: om.Name, Version: om.Version},
		New: BundleID{Path: newPath, Name: nm.Name, Version: nm.Version},
	}
	d.Packages = diffPackages(om, nm)
	d.Images = diffImages(om, nm)
	d.Templates = diffTemplates(om, nm)
	d.Distros = diffDistros(om, nm)
	d.Clusters = diffClusters(om, nm)

	of, nf := fileMap(om), fileMap(nm)
	var paths []string
	for p, f := range nf {
		if !isConfig(p) {
			continue
		}
		if o, ok := of[p]; !ok || o.SHA256 != f.SHA256 {
			paths = append(paths, p)
		}
	}
	for p := range of {
		if _, ok := nf[p]; !ok && isConfig(p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	limits := func(m *manifest.Manifest) map[string]int64 {
		l := make(map[string]int64, len(paths)+1)
		for _, p := range paths {
			l[p] = maxDiffSize
		}
		if m.HasFile(sbom.FileName) {
			l[sbom.FileName] = manifest.MaxMetaSize
		}
		return l
	}
	oldData, err := read.Files(ctx, oldPath, limits(om))
	if err != nil {
		return nil, err
	}
	newData, err := read.Files(ctx, newPath, limits(nm))
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		o, inOld := of[p]
		n, inNew := nf[p]
		fc := FileChange{Path: p, Change: Changed}
		switch {
		case !inOld:
			fc.Change = Added
		case !inNew:
			fc.Change = Removed
		}
		a, aok := oldData[p]
		b, bok := newData[p]
		if o.Sensitive || n.Sensitive {
			fc.Sensitive = true
			fc.Diff = p + ": (sensitive value changed)\n"
			d.Files = append(d.Files, fc)
			continue
		}
		if (inOld && !aok) || (inNew && !bok) || !isText(a) || !isText(b) {
			fc.Binary = true
			if inOld && inNew {
				fc.Diff = fmt.Sprintf("%s: %d bytes sha256 %s -> %d bytes sha256 %s\n", p, o.Size, o.SHA256, n.Size, n.SHA256)
			}
		} else {
			from, to := "a/"+p, "b/"+p
			if !inOld {
				from = "/dev/null"
			}
			if !inNew {
				to = "/dev/null"
			}
			fc.Diff = udiff.Unified(from, to, string(a), string(b))
		}
		d.Files = append(d.Files, fc)
	}
	if d.Files == nil {
		d.Files = []FileChange{}
	}
	osb, err := read.SBOM(oldPath, om, oldData)
	if err != nil {
		return nil, err
	}
	nsb, err := read.SBOM(newPath, nm, newData)
	if err != nil {
		return nil, err
	}
	d.SBOM = []sbom.Change{}
	if osb != nil && nsb != nil {
		// RPMs by repo directory, as the packages above: a renamed repo
		// label is not a removal and an addition.
		for _, x := range []struct {
			s *sbom.Summary
			m *manifest.Manifest
		}{{osb, om}, {nsb, nm}} {
			dirs := repoDirs(x.m)
			for k, r := range x.s.RPMs {
				if d, ok := dirs[r.Repo]; ok {
					r.Repo = d
					x.s.RPMs[k] = r
				}
			}
		}
		d.SBOM = sbom.Compare(osb, nsb)
	}
	return d, nil
}

func isText(b []byte) bool { return utf8.Valid(b) && !bytes.ContainsRune(b, 0) }

func fileMap(m *manifest.Manifest) map[string]manifest.FileEntry {
	out := map[string]manifest.FileEntry{}
	for _, f := range m.Files {
		out[f.Path] = f
	}
	return out
}

type pkgKey struct{ repo, name, arch string }

// repoKey is a repo's directory under www/yum/repos (path/version), or its
// name when the directory is elsewhere.
func repoKey(r manifest.RepoEntry) string {
	if k, ok := strings.CutPrefix(r.Dir, manifest.YumDir+"/repos/"); ok {
		return k
	}
	if r.Dir != "" {
		return r.Dir
	}
	return r.Name
}

func pkgIndex(m *manifest.Manifest) map[pkgKey][]manifest.PackageEntry {
	idx := map[pkgKey][]manifest.PackageEntry{}
	for _, r := range m.Repos {
		for _, p := range r.Packages {
			n, ok := rpmdep.ParseNEVRA(p.NEVRA)
			if !ok {
				n = rpmdep.NEVRA{Name: strings.TrimSuffix(path.Base(p.Location), ".rpm")}
			}
			k := pkgKey{repoKey(r), n.Name, n.Arch}
			idx[k] = append(idx[k], p)
		}
	}
	return idx
}

func diffPackages(om, nm *manifest.Manifest) []PackageChange {
	oi, ni := pkgIndex(om), pkgIndex(nm)
	out := []PackageChange{}
	keys := map[pkgKey]bool{}
	for k := range oi {
		keys[k] = true
	}
	for k := range ni {
		keys[k] = true
	}
	for k := range keys {
		olds, news := newest(oi[k]), newest(ni[k])
		c := PackageChange{Repo: k.repo, Name: k.name, Arch: k.arch}
		switch {
		case olds == nil:
			c.Change, c.New = Added, news.NEVRA
		case news == nil:
			c.Change, c.Old = Removed, olds.NEVRA
		default:
			c.Old, c.New = olds.NEVRA, news.NEVRA
			on, _ := rpmdep.ParseNEVRA(olds.NEVRA)
			nn, _ := rpmdep.ParseNEVRA(news.NEVRA)
			switch cmp := rpmdep.CompareNEVRA(on, nn); {
			case cmp < 0:
				c.Change = Upgraded
			case cmp > 0:
				c.Change = Downgraded
			case olds.SHA256 != news.SHA256:
				c.Change = Rebuilt
			default:
				continue
			}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	return out
}

// newest returns the highest-versioned package of a list.
func newest(ps []manifest.PackageEntry) *manifest.PackageEntry {
	var best *manifest.PackageEntry
	var bestN rpmdep.NEVRA
	for i := range ps {
		n, _ := rpmdep.ParseNEVRA(ps[i].NEVRA)
		if best == nil || rpmdep.CompareNEVRA(n, bestN) > 0 {
			best, bestN = &ps[i], n
		}
	}
	return best
}

func diffImages(om, nm *manifest.Manifest) []ImageChange {
	out := []ImageChange{}
	oi := map[string]manifest.ImageInfo{}
	for _, im := range om.Images {
		oi[im.Name] = im
	}
	ni := map[string]manifest.ImageInfo{}
	for _, im := range nm.Images {
		ni[im.Name] = im
		o, ok := oi[im.Name]
		switch {
		case !ok:
			out = append(out, ImageChange{Name: im.Name, Change: Added, NewRef: im.Ref, NewDigest: im.Digest})
		case o.Digest != im.Digest || o.Ref != im.Ref:
			out = append(out, ImageChange{Name: im.Name, Change: Changed, OldRef: o.Ref, NewRef: im.Ref, OldDigest: o.Digest, NewDigest: im.Digest})
		}
	}
	for _, im := range om.Images {
		if _, ok := ni[im.Name]; !ok {
			out = append(out, ImageChange{Name: im.Name, Change: Removed, OldRef: im.Ref, OldDigest: im.Digest})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func diffTemplates(om, nm *manifest.Manifest) []TemplateChange {
	out := []TemplateChange{}
	ot := map[string]manifest.TemplateEntry{}
	for _, t := range om.Templates {
		ot[t.Name] = t
	}
	nt := map[string]bool{}
	for _, t := range nm.Templates {
		nt[t.Name] = true
		o, ok := ot[t.Name]
		switch {
		case !ok:
			out = append(out, TemplateChange{Name: t.Name, Change: Added})
		case o.SHA256 != t.SHA256:
			out = append(out, TemplateChange{Name: t.Name, Change: Changed})
		}
	}
	for _, t := range om.Templates {
		if !nt[t.Name] {
			out = append(out, TemplateChange{Name: t.Name, Change: Removed})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func diffDistros(om, nm *manifest.Manifest) []DistroChange {
	out := []DistroChange{}
	od := map[string]manifest.DistroEntry{}
	for _, d := range om.Distros {
		od[d.Name] = d
	}
	onDistro := map[string][]string{}
	for _, c := range nm.Clusters {
		onDistro[c.Distro] = append(onDistro[c.Distro], c.Name)
	}
	oldDirs, newDirs := repoDirs(om), repoDirs(nm)
	nd := map[string]bool{}
	for _, d := range nm.Distros {
		nd[d.Name] = true
		o, ok := od[d.Name]
		c := DistroChange{Name: d.Name, Vendor: d.Vendor, Version: d.Version}
		if !ok {
			c.Change = Added
			out = append(out, c)
			continue
		}
		var details []string
		if o.Vendor != d.Vendor {
			details = append(details, fmt.Sprintf("vendor %s -> %s", o.Vendor, d.Vendor))
		}
		if a, b := sortedSet(o.Roles), sortedSet(d.Roles); a != b {
			details = append(details, fmt.Sprintf("roles %s -> %s", a, b))
		}
		if a, b := dirsOf(o.Repos, oldDirs), dirsOf(d.Repos, newDirs); a != b {
			details = append(details, fmt.Sprintf("repos %s -> %s", a, b))
		}
		switch cmp := compareDotted(o.Version, d.Version); {
		case cmp < 0:
			c.Change = Upgraded
		case cmp > 0:
			c.Change = Downgraded
		case len(details) > 0:
			c.Change = Changed
		default:
			continue
		}
		if c.Change != Changed {
			c.OldVersion = o.Version
			c.Clusters = onDistro[d.Name]
		}
		c.Detail = strings.Join(details, ", ")
		out = append(out, c)
	}
	for _, d := range om.Distros {
		if !nd[d.Name] {
			out = append(out, DistroChange{Name: d.Name, Vendor: d.Vendor, Version: d.Version, Change: Removed})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// repoDirs maps a bundle's repo names to their directories.
func repoDirs(m *manifest.Manifest) map[string]string {
	out := map[string]string{}
	for _, r := range m.Repos {
		out[r.Name] = repoKey(r)
	}
	return out
}

// dirsOf lists the directories of repos, sorted: what a distro's entry
// installs from, whatever the repos' labels.
func dirsOf(repos []string, dirs map[string]string) string {
	var out []string
	for _, r := range repos {
		if d, ok := dirs[r]; ok {
			out = append(out, d)
		} else {
			out = append(out, r)
		}
	}
	return sortedSet(out)
}

func sortedSet(xs []string) string {
	c := append([]string(nil), xs...)
	sort.Strings(c)
	return "[" + strings.Join(c, " ") + "]"
}

// compareDotted compares dotted version numbers numerically (0.9 < 0.10);
// parts that are not numbers compare as text.
func compareDotted(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y string
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.Atoi(x)
		yn, yerr := strconv.Atoi(y)
		switch {
		case xerr == nil && yerr == nil && xn != yn:
			if xn < yn {
				return -1
			}
			return 1
		case (xerr != nil || yerr != nil) && x != y:
			return strings.Compare(x, y)
		}
	}
	return 0
}

// diffClusters compares clusters by name, their node groups by name and
// their apps by Marathon id, as BDE and Marathon key them.
func diffClusters(om, nm *manifest.Manifest) []ClusterChange {
	out := []ClusterChange{}
	oc := map[string]manifest.ClusterEntry{}
	for _, c := range om.Clusters {
		oc[c.Name] = c
	}
	seen := map[string]bool{}
	for _, c := range nm.Clusters {
		seen[c.Name] = true
		o, ok := oc[c.Name]
		if !ok {
			out = append(out, ClusterChange{Cluster: c.Name, Change: Added, Detail: "distro " + c.Distro})
			continue
		}
		if o.Distro != c.Distro {
			out = append(out, ClusterChange{Cluster: c.Name, Change: Changed, Detail: fmt.Sprintf("distro %s -> %s (BDE cannot move a running cluster to another distro name)", o.Distro, c.Distro)})
		}
		og := map[string]manifest.NodeGroupEntry{}
		for _, g := range o.NodeGroups {
			og[g.Name] = g
		}
		gs := map[string]bool{}
		for _, g := range c.NodeGroups {
			gs[g.Name] = true
			p, ok := og[g.Name]
			if !ok {
				out = append(out, ClusterChange{Cluster: c.Name, NodeGroup: g.Name, Change: Added, Detail: fmt.Sprintf("%d instances, roles %s", g.Instances, sortedSet(g.Roles))})
				continue
			}
			var det []string
			if p.Instances != g.Instances {
				det = append(det, fmt.Sprintf("instances %d -> %d", p.Instances, g.Instances))
			}
			if a, b := sortedSet(p.Roles), sortedSet(g.Roles); a != b {
				det = append(det, fmt.Sprintf("roles %s -> %s", a, b))
			}
			if a, b := attrs(p.Attributes), attrs(g.Attributes); a != b {
				det = append(det, fmt.Sprintf("attributes %s -> %s", a, b))
			}
			if len(det) > 0 {
				out = append(out, ClusterChange{Cluster: c.Name, NodeGroup: g.Name, Change: Changed, Detail: strings.Join(det, ", ")})
			}
		}
		for _, g := range o.NodeGroups {
			if !gs[g.Name] {
				out = append(out, ClusterChange{Cluster: c.Name, NodeGroup: g.Name, Change: Removed})
			}
		}
		oa := map[string]manifest.AppEntry{}
		for _, a := range o.Apps {
			oa[a.ID] = a
		}
		as := map[string]bool{}
		for _, a := range c.Apps {
			as[a.ID] = true
			p, ok := oa[a.ID]
			if !ok {
				out = append(out, ClusterChange{Cluster: c.Name, App: a.ID, Change: Added, Detail: fmt.Sprintf("%d instances", a.Instances)})
				continue
			}
			var det []string
			if p.Instances != a.Instances {
				det = append(det, fmt.Sprintf("instances %d -> %d", p.Instances, a.Instances))
			}
			if x, y := fmt.Sprint(p.Constraints), fmt.Sprint(a.Constraints); x != y {
				det = append(det, fmt.Sprintf("constraints %s -> %s", x, y))
			}
			if p.Image != a.Image {
				det = append(det, fmt.Sprintf("image %q -> %q", p.Image, a.Image))
			}
			if len(det) > 0 {
				out = append(out, ClusterChange{Cluster: c.Name, App: a.ID, Change: Changed, Detail: strings.Join(det, ", ")})
			}
		}
		for _, a := range o.Apps {
			if !as[a.ID] {
				out = append(out, ClusterChange{Cluster: c.Name, App: a.ID, Change: Removed})
			}
		}
		out = append(out, jobChanges(c.Name, o.Jobs, c.Jobs)...)
	}
	for _, c := range om.Clusters {
		if !seen[c.Name] {
			out = append(out, ClusterChange{Cluster: c.Name, Change: Removed})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cluster < out[j].Cluster })
	return out
}

func attrs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(k + ":" + m[k])
	}
	return "{" + b.String() + "}"
}

// jobChanges compares a cluster's Chronos jobs by name: added, removed,
// or changed in schedule, parents or image.
func jobChanges(cluster string, old, cur []manifest.JobEntry) []ClusterChange {
	var out []ClusterChange
	oj := map[string]manifest.JobEntry{}
	for _, j := range old {
		oj[j.Name] = j
	}
	when := func(j manifest.JobEntry) string {
		if j.Schedule != "" {
			return "schedule " + j.Schedule
		}
		return "after " + strings.Join(j.Parents, ", ")
	}
	seen := map[string]bool{}
	for _, j := range cur {
		seen[j.Name] = true
		p, ok := oj[j.Name]
		if !ok {
			out = append(out, ClusterChange{Cluster: cluster, Job: j.Name, Change: Added, Detail: when(j)})
			continue
		}
		var det []string
		if a, b := when(p), when(j); a != b {
			det = append(det, a+" -> "+b)
		}
		if p.Image != j.Image {
			det = append(det, fmt.Sprintf("image %q -> %q", p.Image, j.Image))
		}
		if len(det) > 0 {
			out = append(out, ClusterChange{Cluster: cluster, Job: j.Name, Change: Changed, Detail: strings.Join(det, ", ")})
		}
	}
	for _, j := range old {
		if !seen[j.Name] {
			out = append(out, ClusterChange{Cluster: cluster, Job: j.Name, Change: Removed})
		}
	}
	return out
}
