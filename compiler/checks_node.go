package compiler

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// flagNameRE is a Mesos flag name, which is also a file name in
// /etc/mesos-<daemon>/.
var flagNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// mesosDecider is the Mesos version whose flags a cluster's daemons have
// and what decides it: the mesos package of the distro's repos (RPM
// facts), else the distro's version.
func (c *compiler) mesosDecider(cl *sitedef.Cluster) (version, decider string, pk *PackageFact) {
	v := clusterVersions(cl)
	if pk := c.shippedPackage(cl, "mesos", v.Mesos); pk != nil {
		return pk.Version, "package " + pk.NEVRA.String() + " of distro " + cl.Distro.Name, pk
	}
	name := ""
	if cl.Distro != nil {
		name = cl.Distro.Name
	}
	return v.Mesos, "the version of distro " + name, nil
}

// wrapperFlag is one flag mesos-init-wrapper gives a daemon, and where it
// comes from.
type wrapperFlag struct{ name, from string }

// wrapperFlags models what mesos-init-wrapper puts on the daemon's command
// line for a node group: the variables of /etc/default/mesos and
// /etc/default/mesos-<daemon> it maps to flags, every file of
// /etc/mesos-<daemon>/ (the bundle's and those the mesos package ships that
// the bundle does not overwrite) and a slave's attributes directory.
func (c *compiler) wrapperFlags(cl *sitedef.Cluster, g *sitedef.NodeGroup, daemon string, pk *PackageFact) []wrapperFlag {
	var out []wrapperFlag
	for _, file := range []string{"", daemon} {
		path := "/etc/default/mesos"
		if file != "" {
			path += "-" + file
		}
		for _, kv := range defaultsVars(cl, file) {
			if f, ok := wrapperVars[daemon][strings.ToUpper(kv.K)]; ok {
				out = append(out, wrapperFlag{f, path + " " + strings.ToUpper(kv.K)})
			}
		}
	}
	own := c.flagFiles(g, daemon)
	for _, k := range slices.Sorted(maps.Keys(own)) {
		out = append(out, wrapperFlag{k, "/etc/mesos-" + daemon + "/" + k})
	}
	if pk != nil {
		dir := "/etc/mesos-" + daemon + "/"
		for _, f := range pk.Files {
			rest, ok := strings.CutPrefix(f, dir)
			if !ok || rest == "" || strings.Contains(rest, "/") {
				continue
			}
			name := strings.TrimPrefix(rest, "?")
			if _, written := own[rest]; written {
				continue
			}
			out = append(out, wrapperFlag{strings.TrimPrefix(name, "no-"), f + " of " + pk.NEVRA.String()})
		}
	}
	if daemon == "slave" && len(groupAttrs(g)) > 0 {
		out = append(out, wrapperFlag{"attributes", "/etc/mesos-slave/attributes/"})
	}
	return out
}

// checkMesosFlags checks, for every Mesos node group, that each flag
// mesos-init-wrapper gives mesos-master and mesos-slave is one the
// cluster's Mesos version has, with a value it parses, given once: stout
// refuses anything else and the daemon exits.
func (c *compiler) checkMesosFlags(cl *sitedef.Cluster) {
	version, decider, pk := c.mesosDecider(cl)
	warned := false
	for _, g := range cl.NodeGroups {
		for _, daemon := range MesosDaemons {
			if !hasRole(g, "mesos_"+daemon) {
				for _, user := range []struct {
					name  string
					flags map[string]string
				}{{"mesos_master_flags", g.MesosMasterFlags}, {"mesos_slave_flags", g.MesosSlaveFlags}} {
					if user.name == "mesos_"+daemon+"_flags" && len(user.flags) > 0 {
						c.errorf(attrRange(g.Body, user.name, g.DeclRange), "Flags without the daemon", "Node group %q sets %s but has no mesos_%s role; nothing would read them.", g.Name, user.name, daemon)
					}
				}
				continue
			}
			known, release, ok := MesosFlags(version, daemon)
			if !ok && !warned && version != "" {
				warned = true
				c.warnf(attrRange(g.Body, "roles", g.DeclRange), "Mesos flags not checked", "The compiler knows the flags of Mesos 0.21 and 0.22; Mesos %s (%s) is neither, so the flags mesos-init-wrapper gives mesos-%s are not checked.", version, decider, daemon)
			}
			userAttr := "mesos_" + daemon + "_flags"
			userRange := attrRange(g.Body, userAttr, g.DeclRange)
			user := g.MesosMasterFlags
			if daemon == "slave" {
				user = g.MesosSlaveFlags
			}
			owned := c.bundleFlags(g, daemon)
			bad := map[string]bool{}
			for _, k := range slices.Sorted(maps.Keys(user)) {
				val := user[k]
				switch {
				case !flagNameRE.MatchString(k):
					c.errorf(userRange, "Invalid Mesos flag name", "%s: %q is not a Mesos flag name (lower-case letters, digits and '_'); mesos-init-wrapper makes each file name of /etc/mesos-%s/ a flag.", userAttr, k, daemon)
				case slices.Contains(owned, k):
					c.errorf(userRange, "Mesos flag given twice", "%s: the bundle already gives mesos-%s --%s (the bundle sets %s); Mesos refuses a flag given twice (\"Duplicate flag\") and the daemon exits.", userAttr, daemon, k, strings.Join(owned, ", "))
				case ok && known[k] == "":
					hint := ""
					if k == "checkpoint" && daemon == "slave" {
						hint = " Mesos 0.22.0 removed it: the slave always checkpoints."
					}
					c.errorf(userRange, "Unknown Mesos flag", "%s: mesos-%s of Mesos %s (%s) has no flag --%s; its flag parser refuses an unknown flag and the daemon exits.%s", userAttr, daemon, release, decider, k, hint)
				case strings.ContainsAny(val, "\n\r\x00") || val == "":
					c.errorf(userRange, "Invalid Mesos flag value", "%s: --%s needs a one-line, non-empty value; mesos-init-wrapper passes the file's content.", userAttr, k)
				case ok && !flagValueOK(known[k], val):
					c.errorf(userRange, "Invalid Mesos flag value", "%s: --%s of mesos-%s %s is a %s flag; Mesos does not parse %q as one and the daemon exits.", userAttr, k, daemon, release, known[k], val)
				default:
					continue
				}
				bad[k] = true
			}
			seen := map[string]string{}
			for _, f := range c.wrapperFlags(cl, g, daemon, pk) {
				if bad[f.name] {
					continue
				}
				if prev, dup := seen[f.name]; dup {
					c.errorf(attrRange(g.Body, "roles", g.DeclRange), "Mesos flag given twice", "Node group %q: mesos-init-wrapper gives mesos-%s --%s from %s and from %s; Mesos refuses a flag given twice and the daemon exits.", g.Name, daemon, f.name, prev, f.from)
					continue
				}
				seen[f.name] = f.from
				if ok && known[f.name] == "" {
					c.errorf(attrRange(g.Body, "roles", g.DeclRange), "Unknown Mesos flag", "Node group %q: mesos-init-wrapper gives mesos-%s --%s (from %s), which Mesos %s (%s) does not have; the daemon exits.", g.Name, daemon, f.name, f.from, release, decider)
				}
			}
		}
	}
}

// initJobs are the init jobs the bundle renders for a node group: the
// job's path, the role that has it and the packagePaths key of what it
// execs.
var initJobs = []struct{ Job, Role, Key string }{
	{"/etc/init/mesos-master.conf", "mesos_master", "mesos-init-wrapper"},
	{"/etc/init/mesos-slave.conf", "mesos_slave", "mesos-init-wrapper"},
	{"/etc/init/marathon.conf", "mesos_marathon", "marathon"},
	{"/etc/init/chronos.conf", "mesos_chronos", "chronos"},
}

// checkExecPaths checks, with RPM facts, that every program an init job of
// the bundle execs, and the daemons the wrapper starts, are files of a
// package the cluster's repos ship.
func (c *compiler) checkExecPaths(cl *sitedef.Cluster) {
	if c.facts == nil || cl.Distro == nil || !c.scanned(cl.Distro) {
		return
	}
	v := c.versions(cl)
	shipped := map[string]bool{}
	for _, r := range cl.Distro.Repos {
		for _, pk := range c.facts.Packages[r.Name] {
			for _, f := range pk.Files {
				shipped[f] = true
			}
		}
	}
	suffix := map[string]string{}
	for _, pp := range packagePaths {
		suffix[pp.Key] = pp.Suffix
	}
	reported := map[string]bool{}
	check := func(g *sitedef.NodeGroup, what, key, exec string) {
		if shipped[exec] || reported[key] {
			return
		}
		nevra, ok := v.Packages[key]
		if !ok {
			return // the package is missing: "Role package missing"
		}
		reported[key] = true
		c.errorf(attrRange(g.Body, "roles", g.DeclRange), "Program in no package", "Node group %q: %s %s, which no package of distro %q (%s) ships: %s has no file ending in %s, so the job fails on every node.", g.Name, what, exec, cl.Distro.Name, repoNames(cl.Distro), nevra, suffix[key])
	}
	for _, g := range cl.NodeGroups {
		for _, j := range initJobs {
			if !hasRole(g, j.Role) {
				continue
			}
			exec := v.path(j.Key, map[string]string{"mesos-init-wrapper": v.MesosInitWrapper(), "marathon": v.MarathonBin(), "chronos": v.ChronosBin()}[j.Key])
			check(g, "the init job "+path.Base(j.Job)+" execs", j.Key, exec)
		}
		for _, daemon := range MesosDaemons {
			if hasRole(g, "mesos_"+daemon) {
				exec := v.MesosSlaveBin()
				if daemon == "master" {
					exec = v.MesosMasterBin()
				}
				check(g, fmt.Sprintf("mesos-init-wrapper starts mesos-%s as", daemon), "mesos-"+daemon, exec)
			}
		}
	}
}
