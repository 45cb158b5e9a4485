package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// Ports the Mesos stack listens on at every node, besides HAProxy's service
// ports.
const (
	portMesosMaster = 5050
	portMesosSlave  = 5051
	portMarathon    = 8080
	portChronos     = 4400
	portZookeeper   = 2181
	portZKPeer      = 2888
	portZKElection  = 3888
	portStats       = 9090
	// Mesos offers ports 31000-32000 to tasks by default; the compiler pins
	// Docker host ports in this range.
	portTaskFirst = 31000
	portTaskLast  = 32000
)

// host is one planned node of a cluster.
type host struct {
	Name  string
	Group *sitedef.NodeGroup
	Attrs map[string]string
}

// groupHosts returns the planned FQDNs of a node group: its hosts attribute,
// or deterministic placeholders named like BDE names the VMs
// (<cluster>-<group>-<i>, i from 0) in the localdomain domain.
func groupHosts(cl *sitedef.Cluster, g *sitedef.NodeGroup) []string {
	if len(g.Hosts) > 0 {
		return g.Hosts
	}
	out := make([]string, 0, max(g.Instances, 0))
	for i := 0; i < g.Instances; i++ {
		out = append(out, fmt.Sprintf("%s-%s-%d.localdomain", cl.Name, g.Name, i))
	}
	return out
}

// groupAttrs returns the Mesos attributes a node group's slaves advertise:
// its storage profile's attribute and its own attributes.
func groupAttrs(g *sitedef.NodeGroup) map[string]string {
	out := map[string]string{}
	if sp := g.StorageProfile; sp != nil {
		out[sp.AttributeName()] = sp.AttributeValue()
	}
	for k, v := range g.Attributes {
		out[k] = v
	}
	return out
}

func hasRole(g *sitedef.NodeGroup, role string) bool { return slices.Contains(g.Roles, role) }

// hostsWithRole returns the planned hosts of every node group having role,
// in declaration order.
func hostsWithRole(cl *sitedef.Cluster, role string) []host {
	var out []host
	for _, g := range cl.NodeGroups {
		if !hasRole(g, role) {
			continue
		}
		attrs := groupAttrs(g)
		for _, h := range groupHosts(cl, g) {
			out = append(out, host{Name: h, Group: g, Attrs: attrs})
		}
	}
	return out
}

// zkPath returns the cluster's ZooKeeper path without slashes around it; the
// cookbook's default is the cluster name.
func zkPath(cl *sitedef.Cluster) string {
	if cl.Zookeeper != nil && cl.Zookeeper.Path != "" {
		return strings.Trim(cl.Zookeeper.Path, "/")
	}
	return cl.Name
}

func zkPort(cl *sitedef.Cluster) int {
	if cl.Zookeeper != nil && cl.Zookeeper.Port != nil {
		return *cl.Zookeeper.Port
	}
	return portZookeeper
}

func statsPort(cl *sitedef.Cluster) int {
	if cl.HAProxy != nil && cl.HAProxy.StatsPort != nil {
		return *cl.HAProxy.StatsPort
	}
	return portStats
}

// zkURL is the content of /etc/mesos/zk without the newline.
func zkURL(cl *sitedef.Cluster) string {
	var hs []string
	for _, h := range hostsWithRole(cl, "zookeeper") {
		hs = append(hs, fmt.Sprintf("%s:%d", h.Name, zkPort(cl)))
	}
	return "zk://" + strings.Join(hs, ",") + "/" + zkPath(cl)
}

// clusterVersions returns the component versions of a cluster.
func clusterVersions(cl *sitedef.Cluster) Versions {
	v := Versions{Marathon: cl.Marathon, Chronos: cl.Chronos}
	if cl.Distro != nil {
		v.Mesos = cl.Distro.Version
	}
	if v.Marathon == "" {
		v.Marathon = defaultMarathon
	}
	if v.Chronos == "" {
		v.Chronos = defaultChronos
	}
	v.HAProxy, v.Docker = defaultHAProxy, defaultDocker
	return v
}

// versions is clusterVersions with the HAProxy and Docker versions of the
// packages in the cluster's repos and the launcher paths from their file
// lists, when RPM facts were gathered.
func (c *compiler) versions(cl *sitedef.Cluster) Versions {
	v := clusterVersions(cl)
	if ver := c.packageVersion(cl, "haproxy"); ver != "" {
		v.HAProxy = ver
	}
	if ver := c.packageVersion(cl, "docker-io"); ver != "" {
		v.Docker = ver
	}
	c.addPackagePaths(cl, &v)
	return v
}

// packageVersion returns the highest version of the packages named or
// providing name in the repos of the cluster's distro, or "".
func (c *compiler) packageVersion(cl *sitedef.Cluster, name string) string {
	if c.facts == nil || cl.Distro == nil {
		return ""
	}
	best := ""
	for _, r := range cl.Distro.Repos {
		for _, pk := range c.facts.Packages[r.Name] {
			if pk.Name == name && (best == "" || !versionAtLeast(best, pk.Version)) {
				best = pk.Version
			}
		}
	}
	return best
}

// appsOf returns the apps placed on cluster cl, in declaration order.
func (c *compiler) appsOf(cl *sitedef.Cluster) []*sitedef.App {
	var out []*sitedef.App
	for _, a := range c.d.Apps {
		if a.Cluster == cl {
			out = append(out, a)
		}
	}
	return out
}

// appID is the Marathon id of an app.
func appID(a *sitedef.App) string {
	if a.ID != "" {
		return a.ID
	}
	return "/" + a.Name
}

// cleanID is the app id as haproxy-marathon-bridge sees it in /v2/tasks:
// the path segments joined with '_'.
func cleanID(a *sitedef.App) string {
	return strings.ReplaceAll(strings.Trim(appID(a), "/"), "/", "_")
}

// appNetwork is the Docker network of an app: as written, else BRIDGE when
// it has service ports, else HOST.
func appNetwork(a *sitedef.App) string {
	if a.Network != "" {
		return strings.ToUpper(a.Network)
	}
	if len(a.Ports) > 0 {
		return "BRIDGE"
	}
	return "HOST"
}

// bridged reports whether an app runs a Docker image in BRIDGE mode with
// service ports: its host ports are pinned, so the compiler knows where its
// tasks listen.
func bridged(a *sitedef.App) bool {
	return a.Image != nil && appNetwork(a) == "BRIDGE" && len(a.Ports) > 0
}

// hostPorts assigns the pinned host port of every service port of the
// bridged apps of a cluster: ports from 31000 up, in app-name order then
// port order.
func (c *compiler) hostPorts(cl *sitedef.Cluster) map[*sitedef.App][]int {
	apps := c.appsOf(cl)
	slices.SortStableFunc(apps, func(x, y *sitedef.App) int { return strings.Compare(x.Name, y.Name) })
	out := map[*sitedef.App][]int{}
	next := portTaskFirst
	for _, a := range apps {
		if !bridged(a) {
			continue
		}
		for range a.Ports {
			out[a] = append(out[a], next)
			next++
		}
	}
	return out
}
