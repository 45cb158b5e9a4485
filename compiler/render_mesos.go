package compiler

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"

	def "github.com/bdebundle/bundle/hcl"
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

// Mesos settings the serengeti-pantry mesos cookbook sets by default.
const (
	mesosLogs         = "/var/log/mesos"
	mesosLoggingLevel = "ERROR"
	mesosUlimit       = "-n 16384"
	mesosWorkDir      = "/tmp/mesos"
	mesosIsolation    = "process"
	dockerIsolation   = "cgroups/cpu,cgroups/mem"
	zkFromFile        = "`cat /etc/mesos/zk`"
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
func isMesosGroup(g *def.NodeGroup) bool {
	return hasRole(g, "mesos_master") || hasRole(g, "mesos_slave")
}

// quorum is the replicated log quorum of a cluster's masters: a majority.
func quorum(cl *def.Cluster) int {
	return len(hostsWithRole(cl, "mesos_master"))/2 + 1
}

// dockerArgs is the other_args line of /etc/sysconfig/docker: the mesos
// cookbook's --insecure-registry 10.0.0.0/8 and the site registry, where
// the cluster's Docker has the flag.
func (c *compiler) dockerArgs(cl *def.Cluster) string {
	var args []string
	if c.versions(cl).DockerInsecureRegistry() {
		args = append(args, "--insecure-registry", "10.0.0.0/8")
		if r := c.registry(); r != "" && registryRE.MatchString(r) {
			args = append(args, "--insecure-registry", r)
		}
	}
	return `other_args="` + strings.Join(args, " ") + `"`
}

func (c *compiler) slaveSettings(g *def.NodeGroup) []kv {
	iso := mesosIsolation
	if hasRole(g, "mesos_docker") {
		iso = dockerIsolation
	}
	return []kv{{"work_dir", mesosWorkDir}, {"isolation", iso}, {"master", zkFromFile},
		{"checkpoint", "true"}, {"strict", "false"}, {"recover", "reconnect"}}
}

// renderNodeGroup renders clusters/<c>/nodes/<group>/etc/... and
// clusters/<c>/chef/<group>.json.
func (c *compiler) renderNodeGroup(p *Plan, cl *def.Cluster, g *def.NodeGroup) {
	v := clusterVersions(cl)
	base := "clusters/" + cl.Name + "/nodes/" + g.Name + "/etc/"
	attrs := groupAttrs(g)
	key := "cluster." + cl.Name + ".node_group." + g.Name
	secret := c.sensitive(key + ".attributes")
	if sp := g.StorageProfile; sp != nil {
		secret = secret || c.sensitive("storage_profile."+sp.Name+".value", "storage_profile."+sp.Name+".attribute")
	}
	add := func(path string, data []byte) { c.addFile(p, base+path, data, false) }
	if isMesosGroup(g) {
		add("mesos/zk", line(zkURL(cl)))
		add("default/mesos", defaultsFile([]kv{{"port", fmt.Sprint(portMesosMaster)}, {"logs", mesosLogs}, {"logging_level", mesosLoggingLevel}, {"ulimit", mesosUlimit}}))
	}
	if hasRole(g, "mesos_master") {
		add("default/mesos-master", defaultsFile([]kv{{"zk", zkFromFile}, {"cluster", cl.Name}}))
		add("mesos-master/quorum", line(fmt.Sprint(quorum(cl))))
		add("mesos-master/logging_level", line(mesosLoggingLevel))
	}
	if hasRole(g, "mesos_slave") {
		add("default/mesos-slave", defaultsFile(c.slaveSettings(g)))
		add("mesos-slave/logging_level", line(mesosLoggingLevel))
		for k, val := range attrs {
			c.addFile(p, base+"mesos-slave/attributes/"+k, line(val), secret)
		}
		if hasRole(g, "mesos_docker") {
			add("mesos-slave/containerizers", line("docker,mesos"))
			add("mesos-slave/executor_registration_timeout", line("5mins"))
			add("mesos-slave/isolation", line(dockerIsolation))
			add("mesos-slave/work_dir", line(mesosWorkDir))
			add("sysconfig/docker", line(c.dockerArgs(cl)))
		}
	} else if len(g.Attributes) > 0 || g.StorageProfile != nil {
		c.warnf(attrRange(g.Body, "attributes", g.DeclRange), "Attributes without a slave", "Node group %q has Mesos attributes or a storage profile but no mesos_slave role; only slaves advertise attributes.", g.Name)
	}
	if hasRole(g, "mesos_marathon") {
		add("init/marathon.conf", execTemplate("upstart.conf.tmpl", map[string]string{"Description": "Marathon scheduler for Mesos", "Exec": v.MarathonBin()}))
	}
	if hasRole(g, "mesos_chronos") {
		add("init/chronos.conf", execTemplate("upstart.conf.tmpl", map[string]string{"Description": "Chronos scheduler for Mesos", "Exec": v.ChronosBin()}))
	}
	c.addFile(p, "clusters/"+cl.Name+"/chef/"+g.Name+".json", marshal(c.chefJSON(cl, g)), secret)
}

// chefJSON is the node attribute override for the BDE cookbooks.
func (c *compiler) chefJSON(cl *def.Cluster, g *def.NodeGroup) map[string]any {
	v := clusterVersions(cl)
	var zkHosts []string
	for _, h := range hostsWithRole(cl, "zookeeper") {
		zkHosts = append(zkHosts, h.Name)
	}
	mesos := map[string]any{
		"version":         v.Mesos,
		"prefix":          v.MesosPrefix(),
		"master_bin":      v.MesosMasterBin(),
		"slave_bin":       v.MesosSlaveBin(),
		"zookeeper_path":  zkPath(cl),
		"zookeeper_port":  zkPort(cl),
		"zookeeper_hosts": zkHosts,
		"common":          map[string]any{"port": portMesosMaster, "logs": mesosLogs, "logging_level": mesosLoggingLevel, "ulimit": mesosUlimit},
	}
	if zkHosts == nil {
		mesos["zookeeper_hosts"] = []string{}
	}
	if hasRole(g, "mesos_master") {
		mesos["master"] = map[string]any{"zk": zkFromFile, "cluster": cl.Name, "quorum": quorum(cl)}
	}
	if hasRole(g, "mesos_slave") {
		s := map[string]any{"attributes": groupAttrs(g)}
		for _, p := range c.slaveSettings(g) {
			s[p.K] = p.V
		}
		if hasRole(g, "mesos_docker") {
			s["containerizers"] = "docker,mesos"
			s["executor_registration_timeout"] = "5mins"
		}
		mesos["slave"] = s
	}
	if hasRole(g, "mesos_marathon") {
		mesos["marathon"] = map[string]any{"version": v.Marathon, "bin": v.MarathonBin()}
	}
	if hasRole(g, "mesos_chronos") {
		mesos["chronos"] = map[string]any{"version": v.Chronos, "bin": v.ChronosBin()}
	}
	runList := []string{}
	for _, r := range c.specRoles(g) {
		runList = append(runList, "role["+r+"]")
	}
	return map[string]any{"run_list": runList, "mesos": mesos}
}
