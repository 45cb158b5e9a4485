package compiler

import (
	"regexp"
	"strconv"
	"strings"
)

// Roles are the BDE roles of the Mesos distro, as the serengeti-pantry mesos
// cookbook and the BDE fling define them.
var Roles = []string{"zookeeper", "mesos_master", "mesos_slave", "mesos_docker", "mesos_chronos", "mesos_marathon"}

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+~^-]*$`)
var dottedRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*([.-][0-9A-Za-z.]+)?$`)

// validVersion reports whether v is an rpm-style version string.
func validVersion(v string) bool { return versionRE.MatchString(v) }

// validDotted reports whether v is a dotted numeric version like 0.22.0.
func validDotted(v string) bool { return dottedRE.MatchString(v) }

// versionAtLeast compares a dotted version against a minimum, numerically
// by component; missing components count as 0.
func versionAtLeast(v, min string) bool {
	a, b := parts(v), parts(min)
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x > y
		}
	}
	return true
}

func parts(v string) []int {
	v, _, _ = strings.Cut(v, "-")
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

// attrTextRE is Mesos' text grammar for attribute names and values.
var attrTextRE = regexp.MustCompile(`^[a-zA-Z0-9_/.-]+$`)

// appIDRE matches a Marathon app id: /-separated segments.
var appIDRE = regexp.MustCompile(`^(/(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))+$`)

// versionFact is one row of the version table: from Since on (until the next
// row of the same Key), Key has Value. Rows of one key are in ascending Since
// order.
type versionFact struct {
	Component string // "mesos", "marathon" or "chronos": whose version decides
	Key       string
	Since     string
	Value     string
}

// versionTable is the single place that knows what differs between Mesos,
// Marathon and Chronos releases (with the flag lists of each Mesos release
// in mesos_flags.go). Everything version-dependent the compiler renders or
// checks looks it up here.
var versionTable = []versionFact{
	// Install prefix of the binaries, used only when no RPM facts were
	// gathered: with facts every path comes from the file list of the
	// package the bundle ships (packagePaths). Mesosphere's el6 Mesos
	// packages moved from /usr/local to /usr with 0.22.0 (the wrapper of
	// mesos-deb-packaging f46d9d3 execs /usr/sbin/mesos-*, a245843
	// /usr/local/sbin), Marathon with 0.8.0. Chronos' prefix follows the
	// build date, not the version (chronos-pkg e7138c6, 2015-01-13): the
	// 2.3.0 builds of 2014 install under /usr/local; without facts the
	// table assumes /usr from the next release, 2.3.1 (an assumption: only
	// the RPM's file list tells).
	{"mesos", "prefix", "0", "/usr/local"},
	{"mesos", "prefix", "0.22.0", "/usr"},
	{"marathon", "prefix", "0", "/usr/local"},
	{"marathon", "prefix", "0.8.0", "/usr"},
	{"chronos", "prefix", "0", "/usr/local"},
	{"chronos", "prefix", "2.3.1", "/usr"},

	// Marathon constraint operators (marathon.proto): MAX_PER first appears
	// in 1.3.0.
	{"marathon", "op:UNIQUE", "0", "yes"},
	{"marathon", "op:LIKE", "0", "yes"},
	{"marathon", "op:CLUSTER", "0", "yes"},
	{"marathon", "op:GROUP_BY", "0", "yes"},
	{"marathon", "op:UNLIKE", "0", "yes"},
	{"marathon", "op:MAX_PER", "0", ""},
	{"marathon", "op:MAX_PER", "1.3.0", "yes"},

	// Before 1.3.0 Marathon compares only the TEXT value of an attribute:
	// scalar (numeric-looking) values never match.
	{"marathon", "scalar-attributes", "0", ""},
	{"marathon", "scalar-attributes", "1.3.0", "yes"},

	// HAProxy: init-addr (start even when a server name does not resolve)
	// first appears in 1.7.0 (haproxy commit 6a031d1c9); CentOS 6 ships
	// 1.5. The rendered configuration needs 1.4.0 or later.
	{"haproxy", "init-addr", "0", ""},
	{"haproxy", "init-addr", "1.7.0", "yes"},
	{"haproxy", "supported", "0", ""},
	{"haproxy", "supported", "1.4.0", "yes"},

	// Docker: --insecure-registry (pull over plain HTTP from the site
	// registry) appears in 1.3.0; older daemons pull from any registry.
	{"docker", "insecure-registry", "0", ""},
	{"docker", "insecure-registry", "1.3.0", "yes"},
}

// Default versions assumed when a cluster does not name one.
const (
	defaultMarathon = "0.8.0"
	defaultChronos  = "2.3.0"
	// Without RPM facts: the haproxy and docker-io of CentOS 6 (EPEL).
	defaultHAProxy = "1.5.2"
	defaultDocker  = "1.3.2"
)

// constraintOps lists every constraint operator Marathon has had, in the
// order of its enum.
var constraintOps = []string{"UNIQUE", "LIKE", "CLUSTER", "GROUP_BY", "UNLIKE", "MAX_PER"}

// lookup returns the value of key for component at version.
func lookup(component, key, version string) string {
	val := ""
	for _, f := range versionTable {
		if f.Component == component && f.Key == key && versionAtLeast(version, f.Since) {
			val = f.Value
		}
	}
	return val
}

// since returns the first version in which component has key set, or "".
func since(component, key string) string {
	for _, f := range versionTable {
		if f.Component == component && f.Key == key && f.Value != "" {
			return f.Since
		}
	}
	return ""
}

// Versions are the versions of a cluster's components, with the paths and
// features that follow from them.
type Versions struct {
	Mesos, Marathon, Chronos string
	// HAProxy and Docker are the versions of the haproxy and docker-io
	// packages in the cluster's repos (RPM facts), else the defaults.
	HAProxy, Docker string
	// Paths are the launcher paths found in the file lists of the packages
	// the cluster's repos ship, by key (see packagePaths); a key that is
	// absent falls back to the version table.
	Paths map[string]string
	// Packages are the NEVRAs of the packages the paths come from, by the
	// same keys.
	Packages map[string]string
}

// HAProxyServerOptions are the options after "check" on a server line:
// init-addr where HAProxy has it, so a server name that does not resolve
// yet does not stop HAProxy from starting.
func (v Versions) HAProxyServerOptions() string {
	if lookup("haproxy", "init-addr", v.HAProxy) != "" {
		return " init-addr last,libc,none"
	}
	return ""
}

// HAProxySupported reports whether the bundle's haproxy.cfg runs on the
// cluster's HAProxy.
func (v Versions) HAProxySupported() bool { return lookup("haproxy", "supported", v.HAProxy) != "" }

// DockerInsecureRegistry reports whether the cluster's Docker has the
// --insecure-registry flag.
func (v Versions) DockerInsecureRegistry() bool {
	return lookup("docker", "insecure-registry", v.Docker) != ""
}

// MesosPrefix is the install prefix of mesos-master and mesos-slave by the
// version table.
func (v Versions) MesosPrefix() string { return lookup("mesos", "prefix", v.Mesos) }

// path is the shipped package's path for key, else the fallback.
func (v Versions) path(key, fallback string) string {
	if p, ok := v.Paths[key]; ok {
		return p
	}
	return fallback
}

// MarathonBin is the path of the marathon launcher.
func (v Versions) MarathonBin() string {
	return v.path("marathon", lookup("marathon", "prefix", v.Marathon)+"/bin/marathon")
}

// ChronosBin is the path of the chronos launcher.
func (v Versions) ChronosBin() string {
	return v.path("chronos", lookup("chronos", "prefix", v.Chronos)+"/bin/chronos")
}

// MesosMasterBin is the path of mesos-master.
func (v Versions) MesosMasterBin() string {
	return v.path("mesos-master", v.MesosPrefix()+"/sbin/mesos-master")
}

// MesosSlaveBin is the path of mesos-slave.
func (v Versions) MesosSlaveBin() string {
	return v.path("mesos-slave", v.MesosPrefix()+"/sbin/mesos-slave")
}

// MesosInitWrapper is the path of Mesosphere's mesos-init-wrapper, which
// the mesos-master and mesos-slave init jobs run (/usr/bin in every
// revision of mesos-deb-packaging).
func (v Versions) MesosInitWrapper() string {
	return v.path("mesos-init-wrapper", "/usr/bin/mesos-init-wrapper")
}

// HasOperator reports whether the cluster's Marathon knows the constraint
// operator op.
func (v Versions) HasOperator(op string) bool { return lookup("marathon", "op:"+op, v.Marathon) != "" }

// ScalarAttributes reports whether the cluster's Marathon matches constraints
// against scalar (numeric) attribute values.
func (v Versions) ScalarAttributes() bool {
	return lookup("marathon", "scalar-attributes", v.Marathon) != ""
}
