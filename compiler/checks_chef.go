package compiler

import (
	"regexp"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// BDE's name rules (serengeti-ws Constants.java): Ironfan names each node
// <cluster>-<group>-<index> and splits the name on '-'.
var (
	bdeClusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	bdeGroupNameRE   = regexp.MustCompile(`^[a-zA-Z0-9]{1,80}$`)
)

// registryRE is a registry host[:port]; it is written into
// /etc/sysconfig/docker, which the init script sources.
var registryRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)

func (c *compiler) checkBDENames(cl *sitedef.Cluster) {
	if !bdeClusterNameRE.MatchString(cl.Name) {
		c.errorf(cl.DeclRange, "Invalid cluster name", "BDE accepts cluster names of letters, digits and '_' only ([a-zA-Z0-9_]+); got %q.", cl.Name)
	}
	for _, g := range cl.NodeGroups {
		if !bdeGroupNameRE.MatchString(g.Name) {
			c.errorf(g.DeclRange, "Invalid node group name", "BDE accepts node group names of 1 to 80 letters and digits only (it names nodes <cluster>-<group>-<index>); got %q.", g.Name)
		}
	}
}

func (c *compiler) checkRegistry() {
	for _, v := range c.d.VCenters {
		if v.Registry != "" && !registryRE.MatchString(strings.TrimSuffix(v.Registry, "/")) {
			c.errorf(attrRange(v.Body, "registry", v.DeclRange), "Invalid registry", "registry is the site registry's host[:port], like registry.localdomain:5000; got %q.", v.Registry)
		}
	}
}

// nodePackages are the packages the mesos cookbook and the bundle's
// cookbook install on a node group, besides the role packages (docker-io
// for mesos_docker is one): they must come from the distro's repos or the
// OS (baseline) on an air-gapped site. The bundle's after_mesos recipe drops
// mesos::docker's epel-release and python-setuptools.
func nodePackages(g *sitedef.NodeGroup) []string {
	pkgs := []string{"haproxy", "curl"}
	if isMesosGroup(g) {
		pkgs = append(pkgs, "unzip", "libcurl")
	}
	return pkgs
}

// available reports whether a package of the distro's repos or its
// baseline provides name.
func (c *compiler) available(ds *sitedef.Distro, name string) bool {
	if !c.scanned(ds) || ds.Baseline != nil && slices.Contains(ds.Baseline.Provides, name) {
		return true
	}
	for _, r := range ds.Repos {
		for _, p := range c.facts.Packages[r.Name] {
			if p.provides(name) {
				return true
			}
		}
	}
	return false
}

// checkHAProxy checks that every node group finds what the cookbooks
// install, and that the definition asks nothing of HAProxy its version
// lacks.
func (c *compiler) checkHAProxy(cl *sitedef.Cluster) {
	v := c.versions(cl)
	if c.facts != nil && cl.Distro != nil {
		for _, g := range cl.NodeGroups {
			var missing []string
			for _, pkg := range nodePackages(g) {
				if !c.available(cl.Distro, pkg) {
					missing = append(missing, pkg)
				}
			}
			if len(missing) > 0 {
				MarkFollows(c.errorf(attrRange(g.Body, "roles", g.DeclRange), "Node package missing", "Node group %q installs %s, but neither the repos of distro %q (%s) nor its baseline provide it; an air-gapped node cannot install it.", g.Name, strings.Join(missing, ", "), cl.Distro.Name, repoNames(cl.Distro)), repoCauses(cl.Distro)...)
			}
		}
	}
	rng := cl.DeclRange
	if cl.HAProxy != nil {
		rng = cl.HAProxy.DeclRange
	}
	if !v.HAProxySupported() {
		c.errorf(rng, "HAProxy too old", "Cluster %q gets HAProxy %s from its repos; the rendered haproxy.cfg needs %s or later.", cl.Name, v.HAProxy, since("haproxy", "supported"))
	}
	if v.HAProxyServerOptions() != "" {
		return
	}
	bridgedApps := false
	for _, a := range c.appsOf(cl) {
		bridgedApps = bridgedApps || bridged(a)
	}
	if !bridgedApps {
		return
	}
	for _, g := range cl.NodeGroups {
		if len(g.Hosts) > 0 && hasRole(g, "mesos_slave") {
			c.warnf(attrRange(g.Body, "hosts", g.DeclRange), "Server names must resolve", "Node group %q declares hosts, which become HAProxy servers; HAProxy %s resolves every server name when it starts and does not start if one fails (init-addr, which lets it start, needs %s). Make sure the names resolve on every node.", g.Name, v.HAProxy, since("haproxy", "init-addr"))
		}
	}
}
