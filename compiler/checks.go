package compiler

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
)

// rolePackages maps each BDE role to the package (name or capability) its
// recipes install.
var rolePackages = map[string]string{
	"mesos_master":   "mesos",
	"mesos_slave":    "mesos",
	"mesos_marathon": "marathon",
	"mesos_chronos":  "chronos",
	"zookeeper":      "zookeeper",
	"mesos_docker":   "docker-io", // mesos::docker runs package 'docker-io'

}

// numericLike reports whether Mesos parses an attribute value as a scalar
// (boost::lexical_cast<double> succeeds) rather than text.
func numericLike(v string) bool {
	v = strings.ReplaceAll(v, " ", "")
	if v == "" {
		return false
	}
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") || strings.Contains(v, "_") {
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil || errorIsRange(err)
}

func errorIsRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// fullMatch compiles a LIKE/UNLIKE value the way Java's String.matches
// uses it: anchored at both ends.
func fullMatch(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// checkAttrValue flags an attribute value Marathon of the cluster cannot
// match: values with spaces (Mesos deletes them) and, before Marathon 1.3,
// numeric-looking values (Mesos makes them scalars; Marathon compares only
// text).
func (c *compiler) checkAttrValue(v Versions, name, value string, rng hcl.Range, where string) {
	if strings.ContainsAny(value, " \t") {
		c.errorf(rng, "Attribute value with spaces", "%s: the value %q of attribute %q holds spaces; Mesos deletes every space when it parses attributes, so constraints written with the value never match.", where, value, name)
	}
	if numericLike(value) && !v.ScalarAttributes() {
		c.errorf(rng, "Numeric attribute value", "%s: the value %q of attribute %q looks numeric, so Mesos advertises it as a scalar, and Marathon %s compares only text values (scalars match from %s on). Use a non-numeric value such as %q.", where, value, name, v.Marathon, since("marathon", "scalar-attributes"), "v"+value)
	}
}

// checkClusterAttrs checks the attributes every slave group advertises.
func (c *compiler) checkClusterAttrs(cl *sitedef.Cluster) {
	v := clusterVersions(cl)
	for _, g := range cl.NodeGroups {
		if sp := g.StorageProfile; sp != nil {
			rng := attrRange(sp.Body, "value", sp.DeclRange)
			c.checkAttrValue(v, sp.AttributeName(), sp.AttributeValue(), rng, fmt.Sprintf("storage_profile %q (used by node group %q of cluster %q)", sp.Name, g.Name, cl.Name))
			if _, dup := g.Attributes[sp.AttributeName()]; dup {
				c.errorf(attrRange(g.Body, "attributes", g.DeclRange), "Attribute set twice", "The node group sets attribute %q, which its storage profile %q already sets.", sp.AttributeName(), sp.Name)
			}
		}
		keys := make([]string, 0, len(g.Attributes))
		for k := range g.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.checkAttrValue(v, k, g.Attributes[k], attrRange(g.Body, "attributes", g.DeclRange), fmt.Sprintf("node group %q", g.Name))
		}
		if len(g.Hosts) > 0 && len(g.Hosts) != g.Instances {
			c.errorf(attrRange(g.Body, "hosts", g.DeclRange), "Host count mismatch", "The node group lists %d hosts for %d instances; list one FQDN per instance.", len(g.Hosts), g.Instances)
		}
	}
}

// checkZookeeper checks the ensemble size and path.
func (c *compiler) checkZookeeper(cl *sitedef.Cluster) {
	n := 0
	var first *sitedef.NodeGroup
	for _, g := range cl.NodeGroups {
		if hasRole(g, "zookeeper") {
			n += g.Instances
			if first == nil {
				first = g
			}
		}
	}
	switch {
	case first == nil:
		c.errorf(cl.DeclRange, "No ZooKeeper", "Cluster %q has no node group with the zookeeper role; Mesos masters and slaves find each other through ZooKeeper.", cl.Name)
	case n < 1 || n%2 == 0:
		c.errorf(attrRange(first.Body, "instances", first.DeclRange), "Even ZooKeeper ensemble", "Cluster %q has %d ZooKeeper nodes; an ensemble needs an odd number (1, 3, 5) to keep a majority.", cl.Name, n)
	}
	if z := cl.Zookeeper; z != nil {
		p := zkPath(cl)
		for _, seg := range strings.Split(p, "/") {
			if !attrTextRE.MatchString(seg) {
				c.errorf(attrRange(z.Body, "path", z.DeclRange), "Invalid ZooKeeper path", "The path %q must be /-separated segments of [a-zA-Z0-9_.-].", z.Path)
				break
			}
		}
		if z.Port != nil && (*z.Port < 1 || *z.Port > 65535) {
			c.errorf(attrRange(z.Body, "port", z.DeclRange), "Invalid port", "Port %d is outside 1-65535.", *z.Port)
		}
	}
}

// checkPorts checks the service ports of a cluster's apps: unique, and not
// taken by the Mesos stack or the task port range on the nodes HAProxy
// binds them on.
func (c *compiler) checkPorts(cl *sitedef.Cluster) {
	reserved := map[int]string{
		portMesosMaster: "the Mesos master", portMesosSlave: "the Mesos slave",
		portMarathon: "Marathon", portChronos: "Chronos",
		zkPort(cl): "ZooKeeper clients", portZKPeer: "ZooKeeper peers", portZKElection: "ZooKeeper leader election",
		statsPort(cl): "the HAProxy stats page",
	}
	if cl.HAProxy != nil && cl.HAProxy.StatsPort != nil {
		if p := *cl.HAProxy.StatsPort; p < 1 || p > 65535 {
			c.errorf(attrRange(cl.HAProxy.Body, "stats_port", cl.HAProxy.DeclRange), "Invalid port", "Port %d is outside 1-65535.", p)
		}
	}
	owner := map[int]string{}
	for _, a := range c.appsOf(cl) {
		rng := attrRange(a.Body, "ports", a.DeclRange)
		for _, p := range a.Ports {
			if p == 0 {
				continue
			}
			if what, ok := reserved[p]; ok {
				c.errorf(rng, "Service port taken", "Service port %d of app %q is the port of %s; HAProxy binds every service port on every node of cluster %q.", p, a.Name, what, cl.Name)
				continue
			}
			if p >= portTaskFirst && p <= portTaskLast {
				c.errorf(rng, "Service port in the task range", "Service port %d of app %q lies in %d-%d, the ports Mesos offers to tasks; HAProxy binding it on every node would collide with task ports.", p, a.Name, portTaskFirst, portTaskLast)
				continue
			}
			if prev, ok := owner[p]; ok {
				c.errorf(rng, "Duplicate service port", "Service port %d of app %q is also a service port of app %q in cluster %q; HAProxy can bind it once.", p, a.Name, prev, cl.Name)
				continue
			}
			owner[p] = a.Name
		}
	}
}

// checkConstraints checks an app's constraints against its cluster's
// Marathon version, and returns the slave hosts they allow; ok is false when
// the constraints are invalid.
func (c *compiler) checkConstraints(a *sitedef.App) (allowed []host, ok bool) {
	cl := a.Cluster
	v := clusterVersions(cl)
	rng := attrRange(a.Body, "constraints", a.DeclRange)
	ok = true
	for _, con := range a.Constraints {
		if len(con) < 2 {
			c.errorf(rng, "Invalid constraint", "A constraint is [field, OPERATOR] or [field, OPERATOR, value]; got %q.", con)
			ok = false
			continue
		}
		field, op := con[0], con[1]
		if field == "" {
			c.errorf(rng, "Empty constraint field", "The constraint %q has an empty field; use hostname or a slave attribute name.", con)
			ok = false
		}
		if !slices.Contains(constraintOps, op) {
			c.errorf(rng, "Unknown constraint operator", "%q is not a Marathon constraint operator (%s).%s", op, strings.Join(constraintOps[:5], ", "), suggest(op, constraintOps))
			ok = false
			continue
		}
		if !v.HasOperator(op) {
			c.errorf(rng, "Constraint operator too new", "Marathon %s of cluster %q has no %s operator (it exists from Marathon %s on).", v.Marathon, cl.Name, op, since("marathon", "op:"+op))
			ok = false
			continue
		}
		var arity []int
		switch op {
		case "UNIQUE":
			arity = []int{2}
		case "CLUSTER", "GROUP_BY":
			arity = []int{2, 3}
		case "LIKE", "UNLIKE", "MAX_PER":
			arity = []int{3}
		}
		if !slices.Contains(arity, len(con)) {
			want := "[field, " + op + "]"
			if slices.Equal(arity, []int{3}) {
				want = "[field, " + op + ", value]"
			} else if len(arity) == 2 {
				want = "[field, " + op + "] or [field, " + op + ", value]"
			}
			c.errorf(rng, "Wrong constraint arity", "A %s constraint is %s; got %q.", op, want, con)
			ok = false
			continue
		}
		if len(con) < 3 {
			continue
		}
		val := con[2]
		switch op {
		case "LIKE", "UNLIKE":
			if _, err := fullMatch(val); err != nil {
				c.errorf(rng, "Invalid constraint pattern", "The %s value %q is not a valid regular expression: %v.", op, val, err)
				ok = false
			}
		case "GROUP_BY", "MAX_PER":
			if n, err := strconv.Atoi(val); err != nil || n < 1 {
				c.errorf(rng, "Invalid constraint value", "The %s value must be a positive whole number; got %q.", op, val)
				ok = false
			}
		case "CLUSTER":
			if field != "hostname" {
				c.checkAttrValue(v, field, val, rng, fmt.Sprintf("app %q constraint %q", a.Name, con))
			}
		}
	}
	if !ok {
		return nil, false
	}
	for _, h := range hostsWithRole(cl, "mesos_slave") {
		if allows(a.Constraints, h) {
			allowed = append(allowed, h)
		}
	}
	return allowed, true
}

// allows reports whether Marathon may place a task on h under cons, judged
// from the host alone (UNIQUE, GROUP_BY and MAX_PER need the field to exist).
func allows(cons [][]string, h host) bool {
	for _, con := range cons {
		field, op := con[0], con[1]
		val, has := h.Attrs[field], true
		if field == "hostname" {
			val = h.Name
		} else {
			_, has = h.Attrs[field]
		}
		want := ""
		if len(con) > 2 {
			want = con[2]
		}
		switch op {
		case "UNIQUE", "GROUP_BY", "MAX_PER":
			if !has {
				return false
			}
		case "CLUSTER":
			if !has || (want != "" && val != want) {
				return false
			}
		case "LIKE":
			re, err := fullMatch(want)
			if !has || err != nil || !re.MatchString(val) {
				return false
			}
		case "UNLIKE":
			re, err := fullMatch(want)
			if has && (err != nil || re.MatchString(val)) {
				return false
			}
		}
	}
	return true
}

// slaveMemMB is the memory a Mesos slave offers on a node of memMB: all but
// 1 GB from 2 GB up, else half.
func slaveMemMB(memMB int) int {
	if memMB >= 2048 {
		return memMB - 1024
	}
	return memMB / 2
}

// checkPlacement checks that the hosts an app's constraints allow can hold
// its instances.
func (c *compiler) checkPlacement(a *sitedef.App, allowed []host, pinned bool) {
	if a.Instances <= 0 {
		return
	}
	if len(allowed) == 0 {
		rng := attrRange(a.Body, "constraints", a.DeclRange)
		c.errorf(rng, "Unsatisfiable constraints", "No slave of cluster %q satisfies the constraints of app %q%s.%s", a.Cluster.Name, a.Name, describeSlaves(a.Cluster), constraintHints(a))
		return
	}
	perHost := func(h host) int {
		g := h.Group
		if g.CPU <= 0 || g.MemoryMB <= 0 || a.CPUs <= 0 || a.Mem <= 0 {
			return a.Instances // size unknown: not limiting
		}
		n := min(int(math.Floor(float64(g.CPU)/a.CPUs+1e-9)), int(math.Floor(float64(slaveMemMB(g.MemoryMB))/a.Mem+1e-9)))
		return max(n, 0)
	}
	one := pinned
	why := ""
	if pinned {
		why = "its Docker host ports are pinned, so one task per slave"
	}
	var grouping [][]string
	for _, con := range a.Constraints {
		switch {
		case con[1] == "UNIQUE" && con[0] == "hostname":
			one, why = true, "hostname UNIQUE allows one task per slave"
		case con[1] == "UNIQUE", con[1] == "MAX_PER", con[1] == "CLUSTER" && len(con) == 2, con[1] == "CLUSTER" && con[0] == "hostname":
			grouping = append(grouping, con)
		}
	}
	caps := make([]int, len(allowed))
	total := 0
	for i, h := range allowed {
		caps[i] = perHost(h)
		if one {
			caps[i] = min(caps[i], 1)
		}
		total += caps[i]
	}
	limit, limitWhy := total, "the allowed slaves fit"
	if one {
		limitWhy = why
	}
	for _, con := range grouping {
		byVal := map[string]int{}
		for i, h := range allowed {
			val := h.Attrs[con[0]]
			if con[0] == "hostname" {
				val = h.Name
			}
			byVal[val] += caps[i]
		}
		bound := 0
		switch con[1] {
		case "UNIQUE":
			for _, n := range byVal {
				bound += min(n, 1)
			}
		case "MAX_PER":
			per, _ := strconv.Atoi(con[2])
			for _, n := range byVal {
				bound += min(n, per)
			}
		case "CLUSTER":
			for _, n := range byVal {
				bound = max(bound, n)
			}
		}
		if bound < limit {
			limit, limitWhy = bound, fmt.Sprintf("constraint %q limits it", con)
		}
	}
	if limit < a.Instances {
		groups := []string{}
		for _, h := range allowed {
			if !slices.Contains(groups, h.Group.Name) {
				groups = append(groups, h.Group.Name)
			}
		}
		c.errorf(attrRange(a.Body, "instances", a.DeclRange), "Not enough capacity",
			"App %q asks for %s of %s and %g MB, but the %s its constraints allow (node %s %s) %s at most %d: %s.",
			a.Name, plural(a.Instances, "instance", "instances"), cpus(a.CPUs), a.Mem, plural(len(allowed), "slave", "slaves"),
			map[bool]string{true: "group", false: "groups"}[len(groups) == 1], strings.Join(groups, ", "),
			map[bool]string{true: "holds", false: "hold"}[len(allowed) == 1], limit, limitWhy)
	}
}

// constraintHints suggests, for each constraint of a naming a field or a
// value no slave of its cluster carries, the attribute or value of the
// slaves closest to it ("SSD" where the profile is ssd).
func constraintHints(a *sitedef.App) string {
	values := map[string][]string{}
	var fields []string
	for _, h := range hostsWithRole(a.Cluster, "mesos_slave") {
		for k, v := range h.Attrs {
			if _, ok := values[k]; !ok {
				fields = append(fields, k)
			}
			if !slices.Contains(values[k], v) {
				values[k] = append(values[k], v)
			}
		}
	}
	sort.Strings(fields)
	var hints []string
	for _, con := range a.Constraints {
		field := con[0]
		if field == "hostname" {
			continue
		}
		vals, ok := values[field]
		if !ok {
			if s := suggest(field, fields); s != "" {
				hints = append(hints, fmt.Sprintf("No slave carries attribute %q.%s", field, s))
			}
			continue
		}
		if len(con) < 3 || (con[1] != "CLUSTER" && con[1] != "LIKE") || slices.Contains(vals, con[2]) {
			continue
		}
		sort.Strings(vals)
		if s := suggest(con[2], vals); s != "" {
			hints = append(hints, fmt.Sprintf("No slave has %s:%s.%s", field, con[2], s))
		}
	}
	if len(hints) == 0 {
		return ""
	}
	return " " + strings.Join(hints, " ")
}

// cpus is "1 CPU" or "0.5 CPUs".
func cpus(n float64) string {
	if n == 1 {
		return "1 CPU"
	}
	return fmt.Sprintf("%g CPUs", n)
}

func describeSlaves(cl *sitedef.Cluster) string {
	var parts []string
	for _, g := range cl.NodeGroups {
		if !hasRole(g, "mesos_slave") {
			continue
		}
		attrs := groupAttrs(g)
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+":"+attrs[k])
		}
		parts = append(parts, fmt.Sprintf("%s {%s}", g.Name, strings.Join(kv, ";")))
	}
	if len(parts) == 0 {
		return " (it has no node group with the mesos_slave role)"
	}
	return " (slave groups: " + strings.Join(parts, ", ") + ")"
}

// checkRolePackages checks, from Facts, that the repos of each distro hold
// the package of every role its clusters' node groups use, and of every
// other role it declares.
func (c *compiler) checkRolePackages() {
	if c.facts == nil {
		return
	}
	used := map[*sitedef.Distro]map[string]bool{}
	for _, cl := range c.d.Clusters {
		ds := cl.Distro
		if ds == nil {
			continue
		}
		if used[ds] == nil {
			used[ds] = map[string]bool{}
		}
		for _, g := range cl.NodeGroups {
			for _, r := range g.Roles {
				if !slices.Contains(ds.Roles, r) {
					continue // reported as "Role not in distro"
				}
				if pkg, ok := c.missingRolePackage(ds, r); !ok {
					MarkFollows(c.errorf(attrRange(g.Body, "roles", g.DeclRange), "Role package missing", "Role %q of node group %q needs package %q, but no package of the repos of distro %q (%s) is named or provides it.", r, g.Name, pkg, ds.Name, repoNames(ds)), repoCauses(ds)...)
				}
				used[ds][r] = true
			}
		}
	}
	for _, ds := range c.d.Distros {
		for _, r := range ds.Roles {
			if used[ds][r] {
				continue
			}
			if pkg, ok := c.missingRolePackage(ds, r); !ok {
				MarkFollows(c.errorf(attrRange(ds.Body, "roles", ds.DeclRange), "Role package missing", "Role %q of distro %q needs package %q, but no package of its repos (%s) is named or provides it.", r, ds.Name, pkg, repoNames(ds)), repoCauses(ds)...)
			}
		}
	}
}

// repoCauses are the root causes the errors over a distro's packages can
// follow from: a package path of one of its repos that names nothing.
func repoCauses(ds *sitedef.Distro) []string {
	var keys []string
	for _, r := range ds.Repos {
		keys = append(keys, RepoPackagesCause(r.Name))
	}
	return keys
}

func repoNames(ds *sitedef.Distro) string {
	var n []string
	for _, r := range ds.Repos {
		n = append(n, r.Name)
	}
	return strings.Join(n, ", ")
}

func (c *compiler) missingRolePackage(ds *sitedef.Distro, role string) (string, bool) {
	pkg, ok := rolePackages[role]
	if !ok {
		return "", true
	}
	if !c.scanned(ds) {
		return pkg, true // nothing to check against
	}
	for _, r := range ds.Repos {
		for _, p := range c.facts.Packages[r.Name] {
			if p.provides(pkg) {
				return pkg, true
			}
		}
	}
	return pkg, false
}

// scanned reports whether the packages of every repo of ds are in the
// facts; the checks over a distro's packages are skipped when not.
func (c *compiler) scanned(ds *sitedef.Distro) bool {
	for _, r := range ds.Repos {
		if _, ok := c.facts.Packages[r.Name]; !ok {
			return false
		}
	}
	return true
}
