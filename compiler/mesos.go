package compiler

import (
	"bytes"
	"embed"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

//go:embed templates
var templatesFS embed.FS

var templates = template.Must(template.New("").ParseFS(templatesFS, "templates/*.tmpl"))

func execTemplate(name string, data any) []byte {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		panic(fmt.Sprintf("rendering %s: %v", name, err)) // templates and data are fixed
	}
	return b.Bytes()
}

// Mesos settings: the serengeti-pantry mesos cookbook's defaults, each
// given once, where mesos-init-wrapper reads it.
const (
	mesosLogs         = "/var/log/mesos"
	mesosLoggingLevel = "ERROR"
	mesosUlimit       = "-n 16384"
	mesosWorkDir      = "/tmp/mesos"
	// The master's replicated log; the packages ship the same in
	// /etc/mesos-master/work_dir.
	mesosMasterWorkDir = "/var/lib/mesos"
	mesosIsolation     = "process"
	dockerIsolation    = "cgroups/cpu,cgroups/mem"
	zkFromFile         = "`cat /etc/mesos/zk`"
)

type kv struct{ K, V string }

// defaultsFile renders a file of /etc/default the way the cookbook's
// mesos.erb does: KEY="value" per line, in attribute order.
func defaultsFile(pairs []kv) []byte {
	var b strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&b, "%s=\"%s\"\n", strings.ToUpper(p.K), p.V)
	}
	return []byte(b.String())
}

func line(s string) []byte { return []byte(s + "\n") }

// isMesosGroup reports whether a node group runs a Mesos master or slave.
func isMesosGroup(g *sitedef.NodeGroup) bool {
	return hasRole(g, "mesos_master") || hasRole(g, "mesos_slave")
}

// quorum is the replicated log quorum of a cluster's masters: a majority.
func quorum(cl *sitedef.Cluster) int {
	return len(hostsWithRole(cl, "mesos_master"))/2 + 1
}

// dockerArgs is the other_args line of /etc/sysconfig/docker: the mesos
// cookbook's --insecure-registry 10.0.0.0/8 and the site registry, where
// the cluster's Docker has the flag.
func (c *compiler) dockerArgs(cl *sitedef.Cluster) string {
	var args []string
	if c.versions(cl).DockerInsecureRegistry() {
		args = append(args, "--insecure-registry", "10.0.0.0/8")
		if r := c.registry(); r != "" && registryRE.MatchString(r) {
			args = append(args, "--insecure-registry", r)
		}
	}
	return `other_args="` + strings.Join(args, " ") + `"`
}

// defaultsVars are the variables of /etc/default/mesos (daemon "") and
// /etc/default/mesos-<daemon>: only what mesos-init-wrapper reads
// (wrapperVars, ULIMIT). PORT and CLUSTER are read for the master only, so
// they are in mesos-master's file.
func defaultsVars(cl *sitedef.Cluster, daemon string) []kv {
	switch daemon {
	case "master":
		return []kv{{"zk", zkFromFile}, {"port", fmt.Sprint(portMesosMaster)}, {"cluster", cl.Name}}
	case "slave":
		return []kv{{"master", zkFromFile}}
	}
	return []kv{{"logs", mesosLogs}, {"ulimit", mesosUlimit}}
}

// flagFiles are the files the bundle writes in /etc/mesos-<daemon>/ for a
// group, by flag name: one file per flag, each flag given nowhere else.
func (c *compiler) flagFiles(g *sitedef.NodeGroup, daemon string) map[string]string {
	out := map[string]string{"logging_level": mesosLoggingLevel}
	switch daemon {
	case "master":
		out["quorum"] = ""
		out["work_dir"] = mesosMasterWorkDir
		for k, v := range g.MesosMasterFlags {
			out[k] = v
		}
	case "slave":
		out["work_dir"] = mesosWorkDir
		out["isolation"] = mesosIsolation
		if hasRole(g, "mesos_docker") {
			out["isolation"] = dockerIsolation
			out["containerizers"] = "docker,mesos"
			out["executor_registration_timeout"] = "5mins"
		}
		for k, v := range g.MesosSlaveFlags {
			out[k] = v
		}
	}
	return out
}

// bundleFlags lists the flags the bundle itself gives a daemon: a group's
// mesos_*_flags may not name them.
func (c *compiler) bundleFlags(g *sitedef.NodeGroup, daemon string) []string {
	saved := *g
	saved.MesosMasterFlags, saved.MesosSlaveFlags = nil, nil
	var out []string
	for k := range c.flagFiles(&saved, daemon) {
		out = append(out, k)
	}
	for _, f := range wrapperVars[daemon] {
		out = append(out, f)
	}
	if daemon == "slave" {
		out = append(out, "attributes")
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// renderMesos renders the files of every node group's /etc,
// clusters/<c>/nodes/<group>/etc/...: Mesos attributes, flags and defaults,
// /etc/mesos/zk, the init jobs and Docker's sysconfig.
func (c *compiler) renderMesos() []*File {
	var fs files
	for _, cl := range c.d.Clusters {
		for _, g := range cl.NodeGroups {
			c.renderNodeGroup(&fs, cl, g)
		}
	}
	return fs
}

// checkAttributesWithoutSlave warns about node groups with Mesos attributes
// but no slave to advertise them.
func (c *compiler) checkAttributesWithoutSlave(cl *sitedef.Cluster) {
	for _, g := range cl.NodeGroups {
		if !hasRole(g, "mesos_slave") && (len(g.Attributes) > 0 || g.StorageProfile != nil) {
			c.warnf(attrRange(g.Body, "attributes", g.DeclRange), "Attributes without a slave", "Node group %q has Mesos attributes or a storage profile but no mesos_slave role; only slaves advertise attributes.", g.Name)
		}
	}
}

// attrsSensitive reports whether a node group's Mesos attributes derive
// from a sensitive value.
func (c *compiler) attrsSensitive(cl *sitedef.Cluster, g *sitedef.NodeGroup) bool {
	key := "cluster." + cl.Name + ".node_group." + g.Name
	secret := c.sensitive(key + ".attributes")
	if sp := g.StorageProfile; sp != nil {
		secret = secret || c.sensitive("storage_profile."+sp.Name+".value", "storage_profile."+sp.Name+".attribute")
	}
	return secret
}

// renderNodeGroup renders clusters/<c>/nodes/<group>/etc/....
func (c *compiler) renderNodeGroup(fs *files, cl *sitedef.Cluster, g *sitedef.NodeGroup) {
	v := c.versions(cl)
	base := "clusters/" + cl.Name + "/nodes/" + g.Name + "/etc/"
	attrs := groupAttrs(g)
	secret := c.attrsSensitive(cl, g)
	add := func(path string, data []byte) { fs.add(base+path, data, false) }
	flags := func(daemon string) {
		ff := c.flagFiles(g, daemon)
		if daemon == "master" {
			ff["quorum"] = fmt.Sprint(quorum(cl))
		}
		for _, k := range slices.Sorted(maps.Keys(ff)) {
			add("mesos-"+daemon+"/"+k, line(ff[k]))
		}
	}
	if isMesosGroup(g) {
		add("mesos/zk", line(zkURL(cl)))
		add("default/mesos", defaultsFile(defaultsVars(cl, "")))
	}
	if hasRole(g, "mesos_master") {
		add("default/mesos-master", defaultsFile(defaultsVars(cl, "master")))
		flags("master")
		add("init/mesos-master.conf", execTemplate("upstart.conf.tmpl", map[string]string{"Description": "mesos master", "Exec": v.MesosInitWrapper() + " master"}))
	}
	if hasRole(g, "mesos_slave") {
		add("default/mesos-slave", defaultsFile(defaultsVars(cl, "slave")))
		flags("slave")
		for k, val := range attrs {
			fs.add(base+"mesos-slave/attributes/"+k, line(val), secret)
		}
		add("init/mesos-slave.conf", execTemplate("upstart.conf.tmpl", map[string]string{"Description": "mesos slave", "Exec": v.MesosInitWrapper() + " slave"}))
		if hasRole(g, "mesos_docker") {
			add("sysconfig/docker", line(c.dockerArgs(cl)))
		}
	}
	if hasRole(g, "mesos_marathon") {
		add("init/marathon.conf", execTemplate("upstart.conf.tmpl", map[string]string{"Description": "Marathon scheduler for Mesos", "Exec": v.MarathonBin()}))
	}
	if hasRole(g, "mesos_chronos") {
		add("init/chronos.conf", execTemplate("upstart.conf.tmpl", map[string]string{"Description": "Chronos scheduler for Mesos", "Exec": v.ChronosBin()}))
	}
}

// mesosAttrs are the node['mesos'] attributes the mesos cookbook reads for
// a group, set to the bundle's values: its templates of /etc/default/mesos*
// render node['mesos']['common'|'master'|'slave'] (one KEY="value" line per
// key), zk.erb and mesos-slave-env.sh read zookeeper_path and _port, and
// attributes/default.rb reads version for the Python egg URL. Nothing
// else: no setting here that nothing reads.
func (c *compiler) mesosAttrs(cl *sitedef.Cluster, g *sitedef.NodeGroup) map[string]any {
	pairs := func(kvs []kv) map[string]any {
		m := map[string]any{}
		for _, p := range kvs {
			m[p.K] = p.V
		}
		return m
	}
	m := map[string]any{
		"version":        clusterVersions(cl).Mesos,
		"zookeeper_path": zkPath(cl),
		"zookeeper_port": zkPort(cl),
		"common":         pairs(defaultsVars(cl, "")),
	}
	if hasRole(g, "mesos_master") {
		m["master"] = pairs(defaultsVars(cl, "master"))
	}
	if hasRole(g, "mesos_slave") {
		m["slave"] = pairs(defaultsVars(cl, "slave"))
	}
	return m
}

// mesosSinks are the strings of the definition that land in the node groups' /etc files (mesos.go renders them) and the syntaxes each must fit:
// rows of the table checkSyntax checks (syntax.go).
var mesosSinks = []sink{
	{"storage_profile.attribute", "/etc/mesos-slave/attributes/NAME (file name), --attributes, chef JSON", []Syntax{SyntaxMesosAttrName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, sp := range d.StorageProfiles {
			emit(attrOcc(sp.Body, "attribute", sp.DeclRange, "storage_profile "+sp.Name, sp.AttributeName(), "storage_profile."+sp.Name+".attribute"))
		}
	}},
	{"storage_profile.value (default the label)", "attribute file content, --attributes, chef JSON, OVF property", []Syntax{SyntaxMesosAttrValue, SyntaxLine}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, sp := range d.StorageProfiles {
			emit(attrOcc(sp.Body, "value", sp.DeclRange, "storage_profile "+sp.Name, sp.AttributeValue(), "storage_profile."+sp.Name+".value"))
		}
	}},
	{"node_group label", "clusters/CLUSTER/nodes/GROUP/, chef/GROUP.json, derived template names", []Syntax{SyntaxFileName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, cl := range d.Clusters {
			for _, g := range cl.NodeGroups {
				emit(occurrence{Value: g.Name, Range: g.DeclRange, Where: "node_group label"})
			}
		}
	}},
	{"node_group.attributes names", "/etc/mesos-slave/attributes/NAME (file name), --attributes, chef JSON", []Syntax{SyntaxMesosAttrName}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			for _, k := range sortedKeys(g.Attributes) {
				emit(attrOcc(g.Body, "attributes", g.DeclRange, "node group "+g.Name, k, key+".attributes"))
			}
		})
	}},
	{"node_group.attributes values", "attribute file content, --attributes, chef JSON", []Syntax{SyntaxMesosAttrValue, SyntaxLine}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			for _, k := range sortedKeys(g.Attributes) {
				emit(attrOcc(g.Body, "attributes", g.DeclRange, "attribute "+k+" of node group "+g.Name, g.Attributes[k], key+".attributes"))
			}
		})
	}},
	{"node_group.mesos_master_flags, mesos_slave_flags names", "/etc/mesos-master/NAME, /etc/mesos-slave/NAME (file name), the daemon's --NAME", []Syntax{SyntaxFileName}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			for _, k := range sortedKeys(g.MesosMasterFlags) {
				emit(attrOcc(g.Body, "mesos_master_flags", g.DeclRange, "node group "+g.Name, k, key+".mesos_master_flags"))
			}
			for _, k := range sortedKeys(g.MesosSlaveFlags) {
				emit(attrOcc(g.Body, "mesos_slave_flags", g.DeclRange, "node group "+g.Name, k, key+".mesos_slave_flags"))
			}
		})
	}},
	{"node_group.mesos_master_flags, mesos_slave_flags values", "flag file content, --NAME=VALUE, cookbook attributes", []Syntax{SyntaxLine}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			for _, k := range sortedKeys(g.MesosMasterFlags) {
				emit(attrOcc(g.Body, "mesos_master_flags", g.DeclRange, "flag "+k+" of node group "+g.Name, g.MesosMasterFlags[k], key+".mesos_master_flags"))
			}
			for _, k := range sortedKeys(g.MesosSlaveFlags) {
				emit(attrOcc(g.Body, "mesos_slave_flags", g.DeclRange, "flag "+k+" of node group "+g.Name, g.MesosSlaveFlags[k], key+".mesos_slave_flags"))
			}
		})
	}},
}
