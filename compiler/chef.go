package compiler

import (
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// Where the bundle's Chef cookbook and roles go in the serengeti/ tree; deploy
// uploads them from there.
const (
	CookbooksDir = "serengeti/chef/cookbooks/"
	RolesDir     = "serengeti/chef/roles/"
)

// The bundle's roles, by suffix of the cookbook name, and their run lists:
// recipes of the bundle's cookbook, or role[...] entries as written. A node
// group's roles in clusters/<c>/spec.json name before_mesos first and
// after_mesos, docker_images (mesos_docker groups) and haproxy last, so
// Ironfan's run list has them before and after the mesos cookbook's recipes. before_mesos starts with role[basic]
// so that hadoop_common::pre_run registers BDE's error handler before any
// bundle recipe runs (Chef runs an expanded recipe once, where it first
// appears), then installs the group's packages at their exact versions,
// then writes the configuration.
var chefRoles = []struct {
	Suffix      string
	RunList     []string
	Description string
}{
	{"_before_mesos", []string{"role[basic]", "install", "before_mesos"}, "BDE's basic role first (its error handler), then the node group's packages at the bundle's exact versions, then the Mesos flag files and slave attributes, before the mesos recipes start Mesos"},
	{"_after_mesos", []string{"after_mesos"}, "The bundle's content for the files the mesos recipes write (init jobs with the packages' paths, ZooKeeper ensemble); no Mesos restart on every run; no internet downloads"},
	{"_haproxy", []string{"haproxy"}, "HAProxy and haproxy-marathon-bridge with the cluster's rendered header"},
	{"_docker_images", []string{"docker_images"}, "The container images of a cluster whose Docker cannot pull by digest: docker load archives from the management server, checked by sha256 and image id"},
}

var nonCookbookRE = regexp.MustCompile(`[^A-Za-z0-9_]`)

// CookbookName is the name of a bundle's cookbook: bundle_ and the bundle
// name with every character but letters, digits and '_' made '_'. It is
// never "mesos": Chef 11 merges cookbooks of the same name.
func CookbookName(bundle string) string {
	return "bundle_" + nonCookbookRE.ReplaceAllString(bundle, "_")
}

func (c *compiler) cookbook() string {
	if c.d.Bundle == nil {
		return CookbookName("")
	}
	return CookbookName(c.d.Bundle.Name)
}

// specRoles are the roles of a node group in its cluster spec: the bundle's
// roles around the definition's.
func (c *compiler) specRoles(g *sitedef.NodeGroup) []string {
	cb := c.cookbook()
	var out []string
	if isMesosGroup(g) {
		out = append(out, cb+"_before_mesos")
	}
	out = append(out, g.Roles...)
	if isMesosGroup(g) {
		out = append(out, cb+"_after_mesos")
	}
	if hasRole(g, "mesos_docker") {
		// After mesos::docker has installed and started Docker.
		out = append(out, cb+"_docker_images")
	}
	return append(out, cb+"_haproxy")
}

// clusterConfiguration is the cluster spec's configuration: the mesos
// cookbook's one offline hook, the Python egg URL, on the management
// server instead of downloads.mesosphere.io.
func (c *compiler) clusterConfiguration(cl *sitedef.Cluster) map[string]any {
	conf := map[string]any{}
	ds := cl.Distro
	if ds == nil {
		return conf
	}
	for _, r := range ds.Repos {
		if r.BaseURL != "" {
			conf["mesos"] = map[string]any{"python_egg": strings.TrimSuffix(r.BaseURL, "/") + "/mesos-" + ds.Version + "-py2.6.egg"}
			break
		}
	}
	return conf
}

// masterWaitSeconds bounds how long a slave whose Mesos package changes
// version waits for a master on the new version (libraries/upgrade.rb):
// as long as BDE's own wait for the Chef search of a cluster's nodes.
const masterWaitSeconds = 1800

// restartFor names the resource that restarts what reads a flag file.
func restartFor(p string) string {
	switch {
	case strings.HasPrefix(p, "/etc/mesos-master/"):
		return "bash[restart-mesos-master]"
	case strings.HasPrefix(p, "/etc/mesos-slave/"):
		return "bash[restart-mesos-slave]"
	case p == "/etc/sysconfig/docker":
		return "service[docker]"
	}
	return ""
}

// chefGroup is the cookbook's data of a node group: the files the compiler
// rendered for it, split into those before_mesos writes and those the mesos
// cookbook writes (after_mesos gives them the bundle's content), and the
// mesos attribute overrides.
func (c *compiler) chefGroup(nodeFiles []*File, cl *sitedef.Cluster, g *sitedef.NodeGroup) map[string]any {
	prefix := "clusters/" + cl.Name + "/nodes/" + g.Name
	own, upstream, restarts := map[string]any{}, map[string]any{}, map[string]any{}
	for _, f := range nodeFiles {
		if !strings.HasPrefix(f.Path, prefix+"/") {
			continue
		}
		node := strings.TrimPrefix(f.Path, prefix)
		switch {
		case node == "/etc/mesos/zk", strings.HasPrefix(node, "/etc/mesos-slave/attributes/"):
			// Computed at converge time / written from the attributes.
		case strings.HasPrefix(node, "/etc/default/"), strings.HasPrefix(node, "/etc/init/"):
			upstream[node] = string(f.Data)
		default:
			own[node] = string(f.Data)
			if r := restartFor(node); r != "" {
				restarts[node] = r
			}
		}
	}
	hosts := []string{}
	if len(g.Hosts) > 0 {
		hosts = slices.Clone(g.Hosts)
	}
	attrs := map[string]string{}
	if hasRole(g, "mesos_slave") {
		attrs = groupAttrs(g)
	}
	mesos := map[string]any{}
	if isMesosGroup(g) {
		mesos = c.mesosAttrs(cl, g)
	}
	return map[string]any{
		"roles": slices.Clone(g.Roles), "instances": g.Instances, "hosts": hosts, "attributes": attrs,
		"files": own, "upstream_files": upstream, "restarts": restarts, "mesos": mesos,
		"packages": c.installList(cl, g), "work_dir": mesosWorkDir,
	}
}

// chefCluster is the cookbook's data of a cluster.
func (c *compiler) chefCluster(nodeFiles []*File, cl *sitedef.Cluster, hp map[string]any) map[string]any {
	order := []string{}
	groups := map[string]any{}
	for _, g := range cl.NodeGroups {
		order = append(order, g.Name)
		groups[g.Name] = c.chefGroup(nodeFiles, cl, g)
	}
	return map[string]any{
		"group_order":   order,
		"groups":        groups,
		"zookeeper":     map[string]any{"port": zkPort(cl), "path": zkPath(cl)},
		"marathon_port": portMarathon,
		"haproxy":       hp,
		"docker_images": c.dockerImagesData(cl),
	}
}

var numericVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// cookbookVersion is the bundle version as a Chef cookbook version (x.y.z,
// integers): the bundle version when it is one, else 0.0.<epoch>.
func (c *compiler) cookbookVersion() string {
	v, _ := c.cookbookVersionOK()
	return v
}

// checkCookbookVersion warns when the bundle version is not a cookbook
// version, and says which version the cookbook gets.
func (c *compiler) checkCookbookVersion() {
	if v, ok := c.cookbookVersionOK(); !ok {
		b := c.d.Bundle
		c.warnf(attrRange(b.Body, "version", b.DeclRange), "Cookbook version", "The bundle version %q is not a Chef cookbook version (x.y.z of integers); the cookbook %s is version %s.", b.Version, c.cookbook(), v)
	}
}

// cookbookVersionOK is cookbookVersion and whether it is the bundle version.
func (c *compiler) cookbookVersionOK() (string, bool) {
	b := c.d.Bundle
	if b == nil {
		return "0.0.0", true
	}
	if numericVersionRE.MatchString(b.Version) {
		var out []string
		for _, part := range strings.Split(b.Version, ".") {
			n, err := strconv.Atoi(part)
			if err != nil {
				break
			}
			out = append(out, strconv.Itoa(n))
		}
		if len(out) == strings.Count(b.Version, ".")+1 {
			return strings.Join(out, "."), true
		}
	}
	return fmt.Sprintf("0.0.%d", b.EpochOr(0)), false
}

// renderChef renders what Chef reads: each node group's override,
// clusters/<c>/chef/<group>.json, and the bundle's cookbook and roles, which
// carry nodeFiles (the mesos family's files) and each cluster's HAProxy
// files to the nodes.
func (c *compiler) renderChef(nodeFiles []*File, hp map[string]haproxyCookbook) []*File {
	var rf files
	clusters := map[string]any{}
	sensitive := false
	for _, cl := range c.d.Clusters {
		for _, g := range cl.NodeGroups {
			rf.add("clusters/"+cl.Name+"/chef/"+g.Name+".json", marshal(c.chefJSON(cl, g)), c.attrsSensitive(cl, g))
		}
		clusters[cl.Name] = c.chefCluster(nodeFiles, cl, hp[cl.Name].data)
		sensitive = sensitive || hp[cl.Name].sensitive
	}
	c.renderCookbook(&rf, clusters, sensitive, hp)
	return rf
}

// renderCookbook renders the bundle's cookbook and roles from the clusters'
// data.
func (c *compiler) renderCookbook(rf *files, clusters map[string]any, sensitive bool, hp map[string]haproxyCookbook) {
	cb := c.cookbook()
	dir := CookbooksDir + cb + "/"
	name, version, desc := "", "", ""
	if b := c.d.Bundle; b != nil {
		name, version, desc = b.Name, b.Version, b.Description
	}
	var meta strings.Builder
	fmt.Fprintf(&meta, "# Generated by bundle from the definition of bundle %s %s.\n", rubyComment(name), rubyComment(version))
	fmt.Fprintf(&meta, "name %s\n", rubyString(cb))
	fmt.Fprintf(&meta, "maintainer %s\n", rubyString("bundle"))
	fmt.Fprintf(&meta, "description %s\n", rubyString(strings.TrimSpace("Settings of bundle "+name+" "+version+" for the mesos cookbook. "+desc)))
	fmt.Fprintf(&meta, "version %s\n", rubyString(c.cookbookVersion()))
	for _, d := range []string{"mesos", "hadoop_common", "cluster_service_discovery"} {
		fmt.Fprintf(&meta, "depends %s\n", rubyString(d))
	}
	rf.add(dir+"metadata.rb", []byte(meta.String()), false)

	data := map[string]any{"bundle": name, "version": version, "clusters": clusters, "master_wait_seconds": masterWaitSeconds}
	var attrs strings.Builder
	fmt.Fprintf(&attrs, "#\n# Attributes:: default\n#\n# Generated by bundle: the per-cluster, per-group data of bundle %s %s,\n", rubyComment(name), rubyComment(version))
	attrs.WriteString("# and the node['mesos'] overrides of the node's own group.\n#\n")
	fmt.Fprintf(&attrs, "bundle_data = %s\n", rubyLiteral(data))
	fmt.Fprintf(&attrs, "default[%s] = bundle_data\n\n", rubyString(cb))
	attrs.WriteString(`cluster_data = bundle_data['clusters'][node['cluster_name'].to_s]
group_data = cluster_data && cluster_data['groups'][node['facet_name'].to_s]
if group_data
  set_mesos = lambda do |dst, src|
    src.each { |k, v| v.is_a?(Hash) ? set_mesos.call(dst[k], v) : dst[k] = v }
  end
  set_mesos.call(override['mesos'], group_data['mesos'])
end
`)
	rf.add(dir+"attributes/default.rb", []byte(attrs.String()), sensitive)

	err := fs.WalkDir(templatesFS, "templates/cookbook", func(fp string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templatesFS, fp)
		if err != nil {
			return err
		}
		rf.add(dir+strings.TrimPrefix(fp, "templates/cookbook/"), b, false)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("reading the embedded cookbook: %v", err)) // embedded at build time
	}
	rf.add(dir+"files/default/haproxy-marathon-bridge.cron", bridgeCron, false)
	for _, cl := range slices.Sorted(maps.Keys(hp)) {
		rf.add(dir+"files/default/"+cl+"/haproxy-marathon-bridge", hp[cl].bridge, hp[cl].sensitive)
	}

	for _, r := range chefRoles {
		runList := []string{}
		for _, e := range r.RunList {
			if !strings.HasPrefix(e, "role[") {
				e = "recipe[" + cb + "::" + e + "]"
			}
			runList = append(runList, e)
		}
		role := map[string]any{
			"name": cb + r.Suffix, "description": r.Description + " (bundle " + name + " " + version + ").",
			"json_class": "Chef::Role", "chef_type": "role",
			"default_attributes": map[string]any{}, "override_attributes": map[string]any{},
			"run_list":      runList,
			"env_run_lists": map[string]any{},
		}
		rf.add(RolesDir+cb+r.Suffix+".json", marshal(role), false)
	}
}

// chefJSON is the node attribute override for the BDE cookbooks: the run
// list and the node['mesos'] attributes the mesos cookbook reads.
func (c *compiler) chefJSON(cl *sitedef.Cluster, g *sitedef.NodeGroup) map[string]any {
	runList := []string{}
	for _, r := range c.specRoles(g) {
		runList = append(runList, "role["+r+"]")
	}
	out := map[string]any{"run_list": runList}
	if isMesosGroup(g) {
		out["mesos"] = c.mesosAttrs(cl, g)
	}
	return out
}

// rubyComment makes s safe on a Ruby comment line.
func rubyComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}
