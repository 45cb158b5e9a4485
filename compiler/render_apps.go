package compiler

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	def "github.com/bdebundle/bundle/hcl"
)

// Marathon's health check defaults (HealthCheck.scala).
const (
	hcGracePeriod = 15
	hcInterval    = 10
	hcTimeout     = 20
	hcMaxFailures = 3
)

type marathonApp struct {
	ID           string             `json:"id"`
	Cmd          string             `json:"cmd,omitempty"`
	Args         []string           `json:"args,omitempty"`
	CPUs         float64            `json:"cpus"`
	Mem          float64            `json:"mem"`
	Instances    int                `json:"instances"`
	Ports        []int              `json:"ports,omitempty"`
	Constraints  [][]string         `json:"constraints,omitempty"`
	Env          map[string]string  `json:"env,omitempty"`
	Container    *marathonContainer `json:"container,omitempty"`
	HealthChecks []marathonHealth   `json:"healthChecks,omitempty"`
}

type marathonContainer struct {
	Type   string         `json:"type"`
	Docker marathonDocker `json:"docker"`
}

type marathonDocker struct {
	Image        string        `json:"image"`
	Network      string        `json:"network"`
	PortMappings []portMapping `json:"portMappings,omitempty"`
}

type portMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	ServicePort   int    `json:"servicePort"`
	Protocol      string `json:"protocol"`
}

type marathonHealth struct {
	Protocol               string `json:"protocol"`
	Path                   string `json:"path,omitempty"`
	PortIndex              int    `json:"portIndex"`
	GracePeriodSeconds     int    `json:"gracePeriodSeconds"`
	IntervalSeconds        int    `json:"intervalSeconds"`
	TimeoutSeconds         int    `json:"timeoutSeconds"`
	MaxConsecutiveFailures int    `json:"maxConsecutiveFailures"`
}

func intOr(p *int, d int) int {
	if p != nil {
		return *p
	}
	return d
}

// registry returns the site registry: the one registry the vcenter blocks
// name (checkRegistries refuses two). App definitions reference images there
// and every push of the bundle's images goes there.
func (c *compiler) registry() string {
	for _, v := range c.d.VCenters {
		if v.Registry != "" {
			return strings.TrimSuffix(v.Registry, "/")
		}
	}
	return ""
}

// checkRegistries refuses vcenter blocks that name different registries:
// the apps' image references can point at one site registry only.
func (c *compiler) checkRegistries() {
	var first *def.VCenter
	for _, v := range c.d.VCenters {
		if v.Registry == "" {
			continue
		}
		if first == nil {
			first = v
			continue
		}
		if strings.TrimSuffix(v.Registry, "/") != strings.TrimSuffix(first.Registry, "/") {
			c.errorf(attrRange(v.Body, "registry", v.DeclRange), "Two site registries",
				"vcenter %q names registry %q but vcenter %q names %q. The Marathon apps reference their images at one site registry, and every push goes there: name the same registry in both, or build one bundle per site.",
				v.Name, v.Registry, first.Name, first.Registry)
		}
	}
}

// imageRef is the reference Docker pulls an app's image by at the site:
// <registry>/<repository>@sha256:<digest> from the facts, else the ref as
// written. Clusters whose Docker cannot pull by digest use loadRef instead.
func (c *compiler) imageRef(im *def.Image) string {
	if c.facts == nil {
		return im.Ref
	}
	f, ok := c.facts.Images[im.Name]
	if !ok || f.Digest == "" || f.Repository == "" {
		return im.Ref
	}
	dg := f.Digest
	if !strings.HasPrefix(dg, "sha256:") {
		dg = "sha256:" + dg
	}
	ref := f.Repository + "@" + dg
	if r := c.registry(); r != "" {
		return r + "/" + ref
	}
	if c.warnedRegistry[im] {
		return ref
	}
	if c.warnedRegistry == nil {
		c.warnedRegistry = map[*def.Image]bool{}
	}
	c.warnedRegistry[im] = true
	c.warnf(attrRange(im.Body, "ref", im.DeclRange), "No site registry", "No vcenter block sets registry, so image %q is referenced as %s, which Docker resolves against Docker Hub; set registry to the site registry's host[:port].", im.Name, ref)
	return ref
}

// renderApp renders clusters/<c>/marathon/<app>.json.
func (c *compiler) renderApp(p *Plan, a *def.App, hostPorts []int) {
	m := marathonApp{ID: appID(a), Cmd: a.Cmd, Args: a.Args, CPUs: a.CPUs, Mem: a.Mem, Instances: a.Instances,
		Constraints: a.Constraints, Env: a.Env}
	if a.Image != nil {
		var ref string
		if c.loadsImages(a.Cluster) {
			ref = c.loadRef(a)
		} else {
			ref = c.imageRef(a.Image)
		}
		ct := &marathonContainer{Type: "DOCKER", Docker: marathonDocker{Image: ref, Network: appNetwork(a)}}
		if bridged(a) {
			for i, port := range a.Ports {
				ct.Docker.PortMappings = append(ct.Docker.PortMappings, portMapping{ContainerPort: port, HostPort: hostPorts[i], ServicePort: port, Protocol: "tcp"})
			}
		} else {
			m.Ports = a.Ports
		}
		m.Container = ct
	} else {
		m.Ports = a.Ports
	}
	if hc := a.HealthCheck; hc != nil {
		proto := strings.ToUpper(hc.Protocol)
		if proto == "" {
			proto = "HTTP"
		}
		h := marathonHealth{Protocol: proto, PortIndex: hc.PortIndex,
			GracePeriodSeconds: intOr(hc.GracePeriodSeconds, hcGracePeriod), IntervalSeconds: intOr(hc.IntervalSeconds, hcInterval),
			TimeoutSeconds: intOr(hc.TimeoutSeconds, hcTimeout), MaxConsecutiveFailures: intOr(hc.MaxConsecutiveFailures, hcMaxFailures)}
		rng := hc.DeclRange
		switch proto {
		case "HTTP":
			h.Path = hc.Path
			if h.Path == "" {
				h.Path = "/"
			}
			fallthrough
		case "TCP":
			if hc.PortIndex < 0 || hc.PortIndex >= len(a.Ports) {
				c.errorf(rng, "Invalid health check port", "The %s health check of app %q uses port index %d, but the app has %d ports.", proto, a.Name, hc.PortIndex, len(a.Ports))
			}
		default:
			c.errorf(rng, "Invalid health check protocol", "protocol must be HTTP or TCP; got %q.%s", hc.Protocol, suggest(strings.ToUpper(hc.Protocol), []string{"HTTP", "TCP"}))
		}
		if h.TimeoutSeconds < 1 || h.IntervalSeconds < 1 || h.GracePeriodSeconds < 0 || h.MaxConsecutiveFailures < 0 {
			c.errorf(rng, "Invalid health check timing", "Health check seconds must be positive (grace period and failures may be 0).")
		}
		m.HealthChecks = []marathonHealth{h}
	}
	k := "app." + a.Name + "."
	c.addFile(p, "clusters/"+a.Cluster.Name+"/marathon/"+a.Name+".json", marshal(m), c.sensitive(k+"cmd", k+"args", k+"env", k+"constraints", k+"id"))
}

//go:embed templates/haproxy-marathon-bridge.cron
var bridgeCron []byte

type haproxyListen struct {
	Name    string
	Port    int
	Servers []haproxyServer
}

type haproxyServer struct{ Name, Addr string }

// renderHAProxy renders clusters/<c>/haproxy/: the bridge's haproxy.cfg with
// one listen block per service port, its marathons file, its cron line and
// the bridge itself with the cluster's header. It returns the cluster's
// HAProxy data for the cookbook.
func (c *compiler) renderHAProxy(p *Plan, cl *def.Cluster, allowed map[*def.App][]host, hostPorts map[*def.App][]int) (data map[string]any, sensitive bool, bridge []byte) {
	dir := "clusters/" + cl.Name + "/haproxy/"
	v := c.versions(cl)
	auth := "admin:admin"
	if hp := cl.HAProxy; hp != nil && hp.StatsAuth != "" {
		auth = hp.StatsAuth
		sensitive = c.d.Sensitive["cluster."+cl.Name+".haproxy.stats_auth"]
		if u, pw, ok := strings.Cut(auth, ":"); !ok || u == "" || pw == "" {
			c.errorf(attrRange(hp.Body, "stats_auth", hp.DeclRange), "Invalid stats_auth", "stats_auth is user:password (the characters it may hold are checked as an HAProxy token).")
		}
	} else {
		rng := cl.DeclRange
		if hp != nil {
			rng = hp.DeclRange
		}
		c.warnf(rng, "Default HAProxy stats password", "Cluster %q has no haproxy stats_auth; the stats page uses admin:admin like haproxy-marathon-bridge.", cl.Name)
	}
	var listens []haproxyListen
	listenData := []any{}
	apps := c.appsOf(cl)
	slices.SortStableFunc(apps, func(x, y *def.App) int { return strings.Compare(cleanID(x), cleanID(y)) })
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
	c.addFile(p, dir+"haproxy.cfg", execTemplate("haproxy.cfg.tmpl", tmplData), sensitive)
	header := string(execTemplate("haproxy-header", tmplData))
	bridge = execTemplate("haproxy-marathon-bridge.tmpl", map[string]any{"Cluster": cl.Name, "Header": header, "ServerOptions": v.HAProxyServerOptions()})
	c.addExec(p, dir+"haproxy-marathon-bridge", bridge, sensitive)

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
	c.addFile(p, dir+"marathons", []byte(b.String()), false)
	c.addFile(p, dir+"cron.d/haproxy-marathon-bridge", bridgeCron, false)
	data = map[string]any{"stats_port": statsPort(cl), "stats_auth": auth, "server_options": v.HAProxyServerOptions(), "listens": listenData}
	return data, sensitive, bridge
}
