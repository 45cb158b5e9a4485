package compiler

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

//go:embed templates/haproxy-marathon-bridge.cron
var bridgeCron []byte

type haproxyListen struct {
	Name    string
	Port    int
	Servers []haproxyServer
}

type haproxyServer struct{ Name, Addr string }

// checkStatsAuth checks the cluster's HAProxy stats_auth, and warns when
// the stats page keeps haproxy-marathon-bridge's default password.
func (c *compiler) checkStatsAuth(cl *sitedef.Cluster) {
	if hp := cl.HAProxy; hp != nil && hp.StatsAuth != "" {
		if u, pw, ok := strings.Cut(hp.StatsAuth, ":"); !ok || u == "" || pw == "" {
			c.errorf(attrRange(hp.Body, "stats_auth", hp.DeclRange), "Invalid stats_auth", "stats_auth is user:password (the characters it may hold are checked as an HAProxy token).")
		}
		return
	}
	rng := cl.DeclRange
	if cl.HAProxy != nil {
		rng = cl.HAProxy.DeclRange
	}
	c.warnf(rng, "Default HAProxy stats password", "Cluster %q has no haproxy stats_auth; the stats page uses admin:admin like haproxy-marathon-bridge.", cl.Name)
}

// haproxyCookbook is what the chef family needs of a cluster's HAProxy: the
// cookbook's data, whether it derives from a sensitive value, and the
// cluster's bridge script.
type haproxyCookbook struct {
	data      map[string]any
	sensitive bool
	bridge    []byte
}

// renderHAProxy renders clusters/<c>/haproxy/ of every cluster (see
// renderHAProxyCluster) and returns the files and, by cluster name, what the
// cookbook carries of them.
func (c *compiler) renderHAProxy(allowed map[*sitedef.App][]host, hostPorts map[*sitedef.App][]int) ([]*File, map[string]haproxyCookbook) {
	var fs files
	cookbook := map[string]haproxyCookbook{}
	for _, cl := range c.d.Clusters {
		cookbook[cl.Name] = c.renderHAProxyCluster(&fs, cl, allowed, hostPorts)
	}
	return fs, cookbook
}

// renderHAProxyCluster renders clusters/<c>/haproxy/: the bridge's
// haproxy.cfg with one listen block per service port, its marathons file,
// its cron line and the bridge itself with the cluster's header. It returns
// the cluster's HAProxy data for the cookbook.
func (c *compiler) renderHAProxyCluster(fs *files, cl *sitedef.Cluster, allowed map[*sitedef.App][]host, hostPorts map[*sitedef.App][]int) (hc haproxyCookbook) {
	dir := "clusters/" + cl.Name + "/haproxy/"
	v := c.versions(cl)
	auth := "admin:admin"
	if hp := cl.HAProxy; hp != nil && hp.StatsAuth != "" {
		auth = hp.StatsAuth
		hc.sensitive = c.d.Sensitive["cluster."+cl.Name+".haproxy.stats_auth"]
	}
	var listens []haproxyListen
	listenData := []any{}
	apps := c.appsOf(cl)
	slices.SortStableFunc(apps, func(x, y *sitedef.App) int { return strings.Compare(cleanID(x), cleanID(y)) })
	for _, a := range apps {
		for i, port := range a.Ports {
			if port == 0 {
				continue
			}
			l := haproxyListen{Name: fmt.Sprintf("%s-%d", cleanID(a), port), Port: port}
			servers := []any{}
			if bridged(a) {
				hs := allowed[a]
				for j, h := range hs {
					l.Servers = append(l.Servers, haproxyServer{Name: fmt.Sprintf("%s-%d", cleanID(a), len(hs)-j), Addr: fmt.Sprintf("%s:%d", h.Name, hostPorts[a][i])})
					servers = append(servers, map[string]any{"group": h.Group.Name, "index": slices.Index(groupHosts(cl, h.Group), h.Name), "port": hostPorts[a][i]})
				}
			}
			listens = append(listens, l)
			listenData = append(listenData, map[string]any{"name": l.Name, "port": port, "prefix": cleanID(a), "servers": servers})
		}
	}
	tmplData := map[string]any{"StatsPort": statsPort(cl), "StatsAuth": auth, "Listens": listens, "ServerOptions": v.HAProxyServerOptions()}
	fs.add(dir+"haproxy.cfg", execTemplate("haproxy.cfg.tmpl", tmplData), hc.sensitive)
	header := string(execTemplate("haproxy-header", tmplData))
	hc.bridge = execTemplate("haproxy-marathon-bridge.tmpl", map[string]any{"Cluster": cl.Name, "Header": header, "ServerOptions": v.HAProxyServerOptions()})
	fs.exec(dir+"haproxy-marathon-bridge", hc.bridge, hc.sensitive)

	var b strings.Builder
	seen := map[string]bool{}
	for _, role := range []string{"mesos_master", "mesos_slave"} {
		for _, h := range hostsWithRole(cl, role) {
			if !seen[h.Name] {
				seen[h.Name] = true
				fmt.Fprintf(&b, "%s:%d\n", h.Name, portMarathon)
			}
		}
	}
	fs.add(dir+"marathons", []byte(b.String()), false)
	fs.add(dir+"cron.d/haproxy-marathon-bridge", bridgeCron, false)
	hc.data = map[string]any{"stats_port": statsPort(cl), "stats_auth": auth, "server_options": v.HAProxyServerOptions(), "listens": listenData}
	return hc
}

// haproxySinks are the strings of the definition that land in haproxy.cfg and the bridge files (haproxy.go renders them) and the syntaxes each must fit:
// rows of the table checkSyntax checks (syntax.go).
var haproxySinks = []sink{
	{"node_group.hosts", "haproxy.cfg server lines, marathons, /etc/mesos/zk, chef JSON", []Syntax{SyntaxHostname}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			for _, h := range g.Hosts {
				emit(attrOcc(g.Body, "hosts", g.DeclRange, "node group "+g.Name, h, key+".hosts"))
			}
		})
	}},
	{"node_group label and cluster label, without hosts", "the placeholder host names CLUSTER-GROUP-I.localdomain in haproxy.cfg, marathons, /etc/mesos/zk", []Syntax{SyntaxHostname}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			if len(g.Hosts) == 0 && g.Instances > 0 {
				emit(occurrence{Value: fmt.Sprintf("%s-%s-0.localdomain", cl.Name, g.Name), Range: g.DeclRange, Where: "placeholder host of node group " + g.Name + " (set hosts, or use a name of letters, digits and '-')"})
			}
		})
	}},
	{"haproxy.stats_auth", "haproxy.cfg `stats auth user:password`, the bridge script's quoted header heredoc", []Syntax{SyntaxHAProxyToken}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, cl := range d.Clusters {
			if hp := cl.HAProxy; hp != nil && hp.StatsAuth != "" {
				emit(attrOcc(hp.Body, "stats_auth", hp.DeclRange, "cluster "+cl.Name, hp.StatsAuth, "cluster."+cl.Name+".haproxy.stats_auth"))
			}
		}
	}},
}
