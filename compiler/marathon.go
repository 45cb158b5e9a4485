package compiler

import (
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
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
	Dependencies []string           `json:"dependencies,omitempty"`
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
	var first *sitedef.VCenter
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
func (c *compiler) imageRef(im *sitedef.Image) string {
	ref, ok := c.digestRef(im)
	if !ok {
		return im.Ref
	}
	if r := c.registry(); r != "" {
		return r + "/" + ref
	}
	return ref
}

// digestRef is <repository>@sha256:<digest> of an image, from the facts.
func (c *compiler) digestRef(im *sitedef.Image) (string, bool) {
	if c.facts == nil {
		return "", false
	}
	f, ok := c.facts.Images[im.Name]
	if !ok || f.Digest == "" || f.Repository == "" {
		return "", false
	}
	dg := f.Digest
	if !strings.HasPrefix(dg, "sha256:") {
		dg = "sha256:" + dg
	}
	return f.Repository + "@" + dg, true
}

// checkSiteRegistry warns, once per image, about an image apps pull by
// digest when no vcenter block names the site registry.
func (c *compiler) checkSiteRegistry() {
	if c.registry() != "" {
		return
	}
	for _, im := range c.d.Images {
		ref, ok := c.digestRef(im)
		if !ok {
			continue
		}
		pulled := false
		for _, cl := range c.d.Clusters {
			for _, a := range c.appsOf(cl) {
				pulled = pulled || (a.Image == im && !c.loadsImages(cl))
			}
		}
		if pulled {
			c.warnf(attrRange(im.Body, "ref", im.DeclRange), "No site registry", "No vcenter block sets registry, so image %q is referenced as %s, which Docker resolves against Docker Hub; set registry to the site registry's host[:port].", im.Name, ref)
		}
	}
}

// checkHealthCheck checks an app's health check: its protocol, the port it
// probes and its timing.
func (c *compiler) checkHealthCheck(a *sitedef.App) {
	hc := a.HealthCheck
	if hc == nil {
		return
	}
	proto := strings.ToUpper(hc.Protocol)
	if proto == "" {
		proto = "HTTP"
	}
	rng := hc.DeclRange
	switch proto {
	case "HTTP", "TCP":
		if hc.PortIndex < 0 || hc.PortIndex >= len(a.Ports) {
			c.errorf(rng, "Invalid health check port", "The %s health check of app %q uses port index %d, but the app has %d ports.", proto, a.Name, hc.PortIndex, len(a.Ports))
		}
	default:
		c.errorf(rng, "Invalid health check protocol", "protocol must be HTTP or TCP; got %q.%s", hc.Protocol, suggest(strings.ToUpper(hc.Protocol), []string{"HTTP", "TCP"}))
	}
	if intOr(hc.TimeoutSeconds, hcTimeout) < 1 || intOr(hc.IntervalSeconds, hcInterval) < 1 || intOr(hc.GracePeriodSeconds, hcGracePeriod) < 0 || intOr(hc.MaxConsecutiveFailures, hcMaxFailures) < 0 {
		c.errorf(rng, "Invalid health check timing", "Health check seconds must be positive (grace period and failures may be 0).")
	}
}

// checkAppImage settles the reference Docker pulls an app's image by
// (c.appImages, for the renderer): loadRef on clusters whose Docker loads
// images, which also plans the docker load archive, else imageRef. Both
// report what keeps the image from running there.
func (c *compiler) checkAppImage(a *sitedef.App) {
	if a.Image == nil {
		return
	}
	if c.appImages == nil {
		c.appImages = map[*sitedef.App]string{}
	}
	if c.loadsImages(a.Cluster) {
		c.appImages[a] = c.loadRef(a)
	} else {
		c.appImages[a] = c.imageRef(a.Image)
	}
}

// renderMarathon renders the Marathon app definitions of every cluster,
// clusters/<c>/marathon/<app>.json; hostPorts are the host ports of the
// bridged apps.
func (c *compiler) renderMarathon(hostPorts map[*sitedef.App][]int) []*File {
	var fs files
	for _, cl := range c.d.Clusters {
		for _, a := range c.appsOf(cl) {
			c.renderApp(&fs, a, hostPorts[a])
		}
	}
	return fs
}

// renderApp renders clusters/<c>/marathon/<app>.json.
func (c *compiler) renderApp(fs *files, a *sitedef.App, hostPorts []int) {
	m := marathonApp{ID: appID(a), Cmd: a.Cmd, Args: a.Args, CPUs: a.CPUs, Mem: a.Mem, Instances: a.Instances,
		Constraints: a.Constraints, Env: a.Env}
	if a.Image != nil {
		ref := c.appImages[a]
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
		if proto == "HTTP" {
			h.Path = hc.Path
			if h.Path == "" {
				h.Path = "/"
			}
		}
		m.HealthChecks = []marathonHealth{h}
	}
	m.Dependencies = c.appDependencies(a)
	k := "app." + a.Name + "."
	fs.add("clusters/"+a.Cluster.Name+"/marathon/"+a.Name+".json", marshal(m), c.sensitive(k+"cmd", k+"args", k+"env", k+"constraints", k+"id"))
}

// marathonSinks are the strings of the definition that land in the Marathon apps (marathon.go renders them) and the syntaxes each must fit:
// rows of the table checkSyntax checks (syntax.go).
var marathonSinks = []sink{
	{"app label", "clusters/CLUSTER/marathon/APP.json", []Syntax{SyntaxFileName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			emit(occurrence{Value: a.Name, Range: a.DeclRange, Where: "app label"})
		}
	}},
	{"app.cmd, args, env values, constraints", "Marathon app JSON", []Syntax{SyntaxJSON}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			k := "app." + a.Name
			emit(attrOcc(a.Body, "cmd", a.DeclRange, "app "+a.Name, a.Cmd, k+".cmd"))
			for _, s := range a.Args {
				emit(attrOcc(a.Body, "args", a.DeclRange, "app "+a.Name, s, k+".args"))
			}
			emitTaskValues(emit, "app", a.Name, a.Body, a.DeclRange, a.Env, a.Constraints)
		}
	}},
	{"app.env names", "Marathon app JSON (Docker -e NAME=value)", []Syntax{SyntaxEnvName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			emitEnvNames(emit, "app", a.Name, a.Body, a.DeclRange, a.Env)
		}
	}},
	{"app.health_check.path", "Marathon app JSON (HTTP request line)", []Syntax{SyntaxURLPath}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			if hc := a.HealthCheck; hc != nil && hc.Path != "" {
				emit(occurrence{Value: hc.Path, Range: hc.DeclRange, Where: "health check of app " + a.Name, Key: "app." + a.Name + ".health_check.path"})
			}
		}
	}},
	{"image.ref", "Marathon app JSON (docker image), Chronos job JSON (container image)", []Syntax{SyntaxURL}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, im := range d.Images {
			emit(attrOcc(im.Body, "ref", im.DeclRange, "image "+im.Name, im.Ref, "image."+im.Name+".ref"))
		}
	}},
	{"vcenter.registry", "Marathon app JSON (image host), /etc/sysconfig/docker other_args", []Syntax{SyntaxHostPort}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, v := range d.VCenters {
			if v.Registry != "" {
				emit(attrOcc(v.Body, "registry", v.DeclRange, "vcenter "+v.Name, strings.TrimSuffix(v.Registry, "/"), "vcenter."+v.Name+".registry"))
			}
		}
	}},
}
