package compiler

import (
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// packagePaths names, for each launcher path the bundle renders, the
// package that ships it and how the path ends in its file list. The path
// itself comes from the file list of the package the bundle ships: the
// install prefix of Mesosphere's packages depends on when they were built,
// not on their version.
var packagePaths = []struct{ Key, Package, Suffix string }{
	{"mesos-master", "mesos", "/sbin/mesos-master"},
	{"mesos-slave", "mesos", "/sbin/mesos-slave"},
	{"mesos-init-wrapper", "mesos", "/bin/mesos-init-wrapper"},
	{"marathon", "marathon", "/bin/marathon"},
	{"chronos", "chronos", "/bin/chronos"},
}

// componentVersion is the version of v that decides which package of name
// the cluster runs.
func componentVersion(v Versions, name string) string {
	switch name {
	case "mesos":
		return v.Mesos
	case "marathon":
		return v.Marathon
	case "chronos":
		return v.Chronos
	}
	return ""
}

// shippedPackage is the package named name that the cluster's nodes
// install from its distro's repos: of those of the wanted version (when
// given), the highest; nil without RPM facts or when the repos hold none.
func (c *compiler) shippedPackage(cl *sitedef.Cluster, name, want string) *PackageFact {
	if c.facts == nil || cl.Distro == nil || !c.scanned(cl.Distro) {
		return nil
	}
	var best *PackageFact
	for _, r := range cl.Distro.Repos {
		for i := range c.facts.Packages[r.Name] {
			pk := &c.facts.Packages[r.Name][i]
			if pk.Name != name {
				continue
			}
			if best != nil {
				bestWanted, wanted := want != "" && best.Version == want, want != "" && pk.Version == want
				if bestWanted && !wanted || bestWanted == wanted && !newer(pk, best) {
					continue
				}
			}
			best = pk
		}
	}
	return best
}

// newer reports whether a sorts after b by version, then release.
func newer(a, b *PackageFact) bool {
	if a.Version != b.Version {
		return !versionAtLeast(b.Version, a.Version)
	}
	return a.Release > b.Release
}

// fileEnding returns the file of pk whose path ends in suffix (the
// shortest such path, so /usr/bin/x wins over /opt/y/usr/bin/x).
func fileEnding(pk *PackageFact, suffix string) string {
	best := ""
	for _, f := range pk.Files {
		if strings.HasSuffix(f, suffix) && (best == "" || len(f) < len(best) || len(f) == len(best) && f < best) {
			best = f
		}
	}
	return best
}

// addPackagePaths fills v.Paths and v.Packages from the file lists of the
// packages the cluster ships.
func (c *compiler) addPackagePaths(cl *sitedef.Cluster, v *Versions) {
	for _, pp := range packagePaths {
		pk := c.shippedPackage(cl, pp.Package, componentVersion(*v, pp.Package))
		if pk == nil {
			continue
		}
		if v.Packages == nil {
			v.Packages, v.Paths = map[string]string{}, map[string]string{}
		}
		v.Packages[pp.Key] = pk.NEVRA.String()
		if f := fileEnding(pk, pp.Suffix); f != "" {
			v.Paths[pp.Key] = f
		}
	}
}

// groupPackages are the packages the bundle's install recipe installs on a
// node group, in order, before any configuration is written: Mesos, then
// the role packages whose files the bundle writes or whose init jobs it
// renders.
func groupPackages(g *sitedef.NodeGroup) []string {
	if !isMesosGroup(g) {
		return nil
	}
	pkgs := []string{"mesos"}
	for _, r := range []struct{ role, pkg string }{{"mesos_marathon", "marathon"}, {"mesos_chronos", "chronos"}, {"mesos_docker", "docker-io"}} {
		if hasRole(g, r.role) && !slices.Contains(pkgs, r.pkg) {
			pkgs = append(pkgs, r.pkg)
		}
	}
	return pkgs
}

// installList is the cookbook's list of the group's packages: name, the
// exact version-release (epoch:version-release with an epoch) and arch of
// the package the bundle ships, or only the name without RPM facts.
func (c *compiler) installList(cl *sitedef.Cluster, g *sitedef.NodeGroup) []any {
	v := c.versions(cl)
	out := []any{}
	for _, name := range groupPackages(g) {
		entry := map[string]any{"name": name, "version": "", "arch": ""}
		if pk := c.shippedPackage(cl, name, componentVersion(v, name)); pk != nil {
			vr := pk.Version + "-" + pk.Release
			if pk.Epoch != "" && pk.Epoch != "0" {
				vr = pk.Epoch + ":" + vr
			}
			entry["version"], entry["arch"] = vr, pk.Arch
		}
		out = append(out, entry)
	}
	return out
}
