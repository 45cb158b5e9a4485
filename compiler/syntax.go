package compiler

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	def "github.com/bdebundle/bundle/hcl"
	"github.com/hashicorp/hcl/v2"
)

// A Syntax is the grammar of one kind of place in a rendered file where a
// string from the definition lands. Check returns "" when s fits, else what
// is wrong (without quoting s: it may be sensitive).
type Syntax struct {
	Name  string
	Check func(s string) string
}

// The syntaxes strings of the definition land in. Each is checked at
// validate; docs/compiler.md has the table of which attribute lands where.
var (
	// SyntaxHAProxyToken is an unquoted word of haproxy.cfg: HAProxy splits
	// lines on blanks, starts a comment at '#' and treats quotes and
	// backslashes as quoting.
	SyntaxHAProxyToken = Syntax{"HAProxy token", func(s string) string {
		if s == "" {
			return "is empty"
		}
		if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune("#\"'\\", r) }); i >= 0 {
			return "holds " + describeRune(s, i) + ", which haproxy.cfg reads as a word break, comment or quote"
		}
		return ""
	}}
	// SyntaxHostname is a host name by RFC 1123 (also an IPv4 address).
	SyntaxHostname = Syntax{"host name (RFC 1123)", checkHostname}
	// SyntaxHostPort is host[:port] with an RFC 1123 host.
	SyntaxHostPort = Syntax{"host[:port]", func(s string) string {
		h, port, ok := strings.Cut(s, ":")
		if ok && !portRE.MatchString(port) {
			return "has a port that is not a number in 1-65535"
		}
		return checkHostname(h)
	}}
	// SyntaxMesosAttrName is a Mesos attribute name (the text grammar), also
	// the file name under /etc/mesos-slave/attributes/.
	SyntaxMesosAttrName = Syntax{"Mesos attribute name", func(s string) string {
		if s == "." || s == ".." || !attrNameRE.MatchString(s) {
			return "must be letters, digits, '_', '.' and '-' (Mesos' text grammar; it is also a file name, so no '/')"
		}
		return ""
	}}
	// SyntaxMesosAttrValue is a Mesos attribute value: text, scalar or range.
	// Sets ({a,b}) parse as values but make the slave abort (LOG(FATAL)) when
	// used as attributes; ';' and ':' would start another attribute.
	SyntaxMesosAttrValue = Syntax{"Mesos attribute value", func(s string) string {
		v := strings.ReplaceAll(s, " ", "") // Mesos deletes spaces; checkAttrValue reports them
		switch {
		case v == "":
			return "is empty"
		case attrTextRE.MatchString(v), numericLike(v), attrRangeRE.MatchString(v):
			return ""
		case strings.HasPrefix(v, "{"):
			return "is a set, which Mesos slaves refuse as an attribute value (they abort at start)"
		}
		if i := strings.IndexAny(s, ";:,"); i >= 0 {
			return "holds " + describeRune(s, i) + ", which separates Mesos attributes"
		}
		return "must be text of letters, digits, '_', '/', '.' and '-', a number, or a range like [1000-2000]"
	}}
	// SyntaxLine is the value of a one-line file or of a line-oriented
	// format (yum .repo, /etc/mesos files): no control characters.
	SyntaxLine = Syntax{"single line", func(s string) string { return noControl(s, false) }}
	// SyntaxJSON is a JSON string: any valid UTF-8; control characters other
	// than tab and newline are refused (they are escaped, but no reader of
	// these files expects them).
	SyntaxJSON = Syntax{"JSON string", func(s string) string { return noControl(s, true) }}
	// SyntaxXML is XML 1.0 character data (OVF descriptors): characters XML
	// cannot carry even escaped are refused.
	SyntaxXML = Syntax{"XML text", func(s string) string {
		if !utf8.ValidString(s) {
			return "is not valid UTF-8"
		}
		for i, r := range s {
			if !(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff) {
				return "holds " + describeRune(s, i) + ", which XML 1.0 cannot carry"
			}
		}
		return ""
	}}
	// SyntaxShellWord is a word put into a shell file (/etc/default/*,
	// upstart exec lines) inside double quotes or bare: no quoting, expansion
	// or separator characters.
	SyntaxShellWord = Syntax{"shell word", func(s string) string {
		if s == "" {
			return "is empty"
		}
		if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune("\"'\\$`;&|<>()*?[]{}~#!", r) }); i >= 0 {
			return "holds " + describeRune(s, i) + ", which a shell would interpret"
		}
		return ""
	}}
	// SyntaxFileName is one path segment of a file the bundle holds.
	SyntaxFileName = Syntax{"file name", func(s string) string {
		if !validName(s) {
			return "must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (it names a file or directory of the bundle)"
		}
		return ""
	}}
	// SyntaxEnvName is an environment variable name (Marathon env, Docker -e).
	SyntaxEnvName = Syntax{"environment variable name", func(s string) string {
		if !envNameRE.MatchString(s) {
			return "must be letters, digits and '_', not starting with a digit"
		}
		return ""
	}}
	// SyntaxURLPath is an HTTP path (health checks).
	SyntaxURLPath = Syntax{"URL path", func(s string) string {
		if !strings.HasPrefix(s, "/") {
			return "must start with '/'"
		}
		if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
			return "holds " + describeRune(s, i)
		}
		return ""
	}}
	// SyntaxURL is a URL on one line without blanks (yum baseurl, manifest).
	SyntaxURL = Syntax{"URL", func(s string) string {
		if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
			return "holds " + describeRune(s, i)
		}
		return ""
	}}
)

var (
	attrNameRE  = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	attrRangeRE = regexp.MustCompile(`^\[[0-9]+-[0-9]+(,[0-9]+-[0-9]+)*\]$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	portRE      = regexp.MustCompile(`^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$`)
	labelRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

func checkHostname(s string) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > 253 {
		return "is longer than 253 characters"
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if !labelRE.MatchString(l) {
			if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
				return "holds " + describeRune(s, i)
			}
			return "must be dot-separated labels of 1-63 letters, digits and '-' (not starting or ending with '-')"
		}
	}
	return ""
}

func noControl(s string, allowTabNL bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for i, r := range s {
		if allowTabNL && (r == '\t' || r == '\n') {
			continue
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 {
			return "holds " + describeRune(s, i)
		}
	}
	return ""
}

// describeRune names the character at byte i of s without showing s.
func describeRune(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	switch r {
	case '\n':
		return "a newline"
	case '\r':
		return "a carriage return"
	case '\t':
		return "a tab"
	case ' ':
		return "a space"
	}
	if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
		return fmt.Sprintf("the control character U+%04X", r)
	}
	if r == utf8.RuneError {
		return "invalid UTF-8"
	}
	return fmt.Sprintf("%q", r)
}

// occurrence is one string of the definition that lands in rendered files.
type occurrence struct {
	Value string
	Range hcl.Range // the attribute (or block header, for labels)
	Where string    // what holds it, for the message
	// Key is the Definition.Sensitive key of the attribute ("" for labels).
	Key string
}

// A sink is one kind of definition string, the files it lands in and the
// syntaxes it must fit there. Checking a new destination means adding a row
// here (or a Syntax to a row): every row is checked by checkSyntax.
type sink struct {
	Attr     string   // as in docs/compiler.md: block.attribute
	Files    string   // where it lands
	Syntaxes []Syntax // every syntax it must fit
	Each     func(d *def.Definition, emit func(occurrence))
}

// sinks is the table of every user string that reaches a rendered file.
var sinks = []sink{
	{"bundle.description", "bundle.json", []Syntax{SyntaxJSON}, func(d *def.Definition, emit func(occurrence)) {
		if b := d.Bundle; b != nil {
			emit(attrOcc(b.Body, "description", b.DeclRange, "bundle "+b.Name, b.Description, "bundle."+b.Name+".description"))
		}
	}},
	{"repo label", "serengeti/www/yum/LABEL.repo, the .repo section", []Syntax{SyntaxFileName}, func(d *def.Definition, emit func(occurrence)) {
		for _, r := range d.Repos {
			emit(occurrence{Value: r.Name, Range: r.DeclRange, Where: "repo label"})
		}
	}},
	{"repo.base_url", ".repo baseurl line, distro manifest (JSON)", []Syntax{SyntaxURL, SyntaxLine}, func(d *def.Definition, emit func(occurrence)) {
		for _, r := range d.Repos {
			if r.BaseURL != "" {
				emit(attrOcc(r.Body, "base_url", r.DeclRange, "repo "+r.Name, r.BaseURL, "repo."+r.Name+".base_url"))
			}
		}
	}},
	{"storage_profile label, backend, datastores", "cluster spec.json, Web Client spec.json", []Syntax{SyntaxJSON}, func(d *def.Definition, emit func(occurrence)) {
		for _, sp := range d.StorageProfiles {
			emit(attrOcc(sp.Body, "backend", sp.DeclRange, "storage_profile "+sp.Name, sp.Backend, "storage_profile."+sp.Name+".backend"))
			for _, ds := range sp.Datastores {
				emit(attrOcc(sp.Body, "datastores", sp.DeclRange, "storage_profile "+sp.Name, ds, "storage_profile."+sp.Name+".datastores"))
			}
		}
	}},
	{"storage_profile.attribute", "/etc/mesos-slave/attributes/NAME (file name), --attributes, chef JSON", []Syntax{SyntaxMesosAttrName}, func(d *def.Definition, emit func(occurrence)) {
		for _, sp := range d.StorageProfiles {
			emit(attrOcc(sp.Body, "attribute", sp.DeclRange, "storage_profile "+sp.Name, sp.AttributeName(), "storage_profile."+sp.Name+".attribute"))
		}
	}},
	{"storage_profile.value (default the label)", "attribute file content, --attributes, chef JSON, OVF property", []Syntax{SyntaxMesosAttrValue, SyntaxLine}, func(d *def.Definition, emit func(occurrence)) {
		for _, sp := range d.StorageProfiles {
			emit(attrOcc(sp.Body, "value", sp.DeclRange, "storage_profile "+sp.Name, sp.AttributeValue(), "storage_profile."+sp.Name+".value"))
		}
	}},
	{"node_group label", "clusters/CLUSTER/nodes/GROUP/, chef/GROUP.json, derived template names", []Syntax{SyntaxFileName}, func(d *def.Definition, emit func(occurrence)) {
		for _, cl := range d.Clusters {
			for _, g := range cl.NodeGroups {
				emit(occurrence{Value: g.Name, Range: g.DeclRange, Where: "node_group label"})
			}
		}
	}},
	{"node_group.hosts", "haproxy.cfg server lines, marathons, /etc/mesos/zk, chef JSON", []Syntax{SyntaxHostname}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			for _, h := range g.Hosts {
				emit(attrOcc(g.Body, "hosts", g.DeclRange, "node group "+g.Name, h, key+".hosts"))
			}
		})
	}},
	{"node_group label and cluster label, without hosts", "the placeholder host names CLUSTER-GROUP-I.localdomain in haproxy.cfg, marathons, /etc/mesos/zk", []Syntax{SyntaxHostname}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			if len(g.Hosts) == 0 && g.Instances > 0 {
				emit(occurrence{Value: fmt.Sprintf("%s-%s-0.localdomain", cl.Name, g.Name), Range: g.DeclRange, Where: "placeholder host of node group " + g.Name + " (set hosts, or use a name of letters, digits and '-')"})
			}
		})
	}},
	{"node_group.attributes names", "/etc/mesos-slave/attributes/NAME (file name), --attributes, chef JSON", []Syntax{SyntaxMesosAttrName}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			for _, k := range sortedKeys(g.Attributes) {
				emit(attrOcc(g.Body, "attributes", g.DeclRange, "node group "+g.Name, k, key+".attributes"))
			}
		})
	}},
	{"node_group.attributes values", "attribute file content, --attributes, chef JSON", []Syntax{SyntaxMesosAttrValue, SyntaxLine}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			for _, k := range sortedKeys(g.Attributes) {
				emit(attrOcc(g.Body, "attributes", g.DeclRange, "attribute "+k+" of node group "+g.Name, g.Attributes[k], key+".attributes"))
			}
		})
	}},
	{"node_group.template_properties", "derived .ovf (XML)", []Syntax{SyntaxXML}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			for _, k := range sortedKeys(g.TemplateProperties) {
				emit(attrOcc(g.Body, "template_properties", g.DeclRange, "node group "+g.Name, k, key+".template_properties"))
				emit(attrOcc(g.Body, "template_properties", g.DeclRange, "property "+k+" of node group "+g.Name, g.TemplateProperties[k], key+".template_properties"))
			}
		})
	}},
	{"node_group.mesos_master_flags, mesos_slave_flags names", "/etc/mesos-master/NAME, /etc/mesos-slave/NAME (file name), the daemon's --NAME", []Syntax{SyntaxFileName}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			for _, k := range sortedKeys(g.MesosMasterFlags) {
				emit(attrOcc(g.Body, "mesos_master_flags", g.DeclRange, "node group "+g.Name, k, key+".mesos_master_flags"))
			}
			for _, k := range sortedKeys(g.MesosSlaveFlags) {
				emit(attrOcc(g.Body, "mesos_slave_flags", g.DeclRange, "node group "+g.Name, k, key+".mesos_slave_flags"))
			}
		})
	}},
	{"node_group.mesos_master_flags, mesos_slave_flags values", "flag file content, --NAME=VALUE, cookbook attributes", []Syntax{SyntaxLine}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			for _, k := range sortedKeys(g.MesosMasterFlags) {
				emit(attrOcc(g.Body, "mesos_master_flags", g.DeclRange, "flag "+k+" of node group "+g.Name, g.MesosMasterFlags[k], key+".mesos_master_flags"))
			}
			for _, k := range sortedKeys(g.MesosSlaveFlags) {
				emit(attrOcc(g.Body, "mesos_slave_flags", g.DeclRange, "flag "+k+" of node group "+g.Name, g.MesosSlaveFlags[k], key+".mesos_slave_flags"))
			}
		})
	}},
	{"node_group.storage.datastores", "cluster spec.json", []Syntax{SyntaxJSON}, func(d *def.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *def.Cluster, g *def.NodeGroup, key string) {
			if s := g.Storage; s != nil {
				for _, ds := range s.Datastores {
					emit(attrOcc(s.Body, "datastores", s.DeclRange, "node group "+g.Name, ds, key+".storage.datastores"))
				}
			}
		})
	}},
	{"haproxy.stats_auth", "haproxy.cfg `stats auth user:password`, the bridge script's quoted header heredoc", []Syntax{SyntaxHAProxyToken}, func(d *def.Definition, emit func(occurrence)) {
		for _, cl := range d.Clusters {
			if hp := cl.HAProxy; hp != nil && hp.StatsAuth != "" {
				emit(attrOcc(hp.Body, "stats_auth", hp.DeclRange, "cluster "+cl.Name, hp.StatsAuth, "cluster."+cl.Name+".haproxy.stats_auth"))
			}
		}
	}},
	{"app label", "clusters/CLUSTER/marathon/APP.json", []Syntax{SyntaxFileName}, func(d *def.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			emit(occurrence{Value: a.Name, Range: a.DeclRange, Where: "app label"})
		}
	}},
	{"app.cmd, args, env values, constraints", "Marathon app JSON", []Syntax{SyntaxJSON}, func(d *def.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			k := "app." + a.Name
			emit(attrOcc(a.Body, "cmd", a.DeclRange, "app "+a.Name, a.Cmd, k+".cmd"))
			for _, s := range a.Args {
				emit(attrOcc(a.Body, "args", a.DeclRange, "app "+a.Name, s, k+".args"))
			}
			for _, n := range sortedKeys(a.Env) {
				emit(attrOcc(a.Body, "env", a.DeclRange, "env "+n+" of app "+a.Name, a.Env[n], k+".env"))
			}
			for _, con := range a.Constraints {
				for _, s := range con {
					emit(attrOcc(a.Body, "constraints", a.DeclRange, "app "+a.Name, s, k+".constraints"))
				}
			}
		}
	}},
	{"job label", "clusters/CLUSTER/chronos/JOB.json", []Syntax{SyntaxFileName}, func(d *def.Definition, emit func(occurrence)) {
		for _, j := range d.Jobs {
			emit(occurrence{Value: j.Name, Range: j.DeclRange, Where: "job label"})
		}
	}},
	{"job.command, schedule, owner, description, epsilon, env values, constraints", "Chronos job JSON", []Syntax{SyntaxJSON}, func(d *def.Definition, emit func(occurrence)) {
		for _, j := range d.Jobs {
			k := "job." + j.Name
			for _, a := range []struct{ name, v string }{{"command", j.Command}, {"schedule", j.Schedule}, {"owner", j.Owner}, {"description", j.Description}, {"epsilon", j.Epsilon}} {
				emit(attrOcc(j.Body, a.name, j.DeclRange, "job "+j.Name, a.v, k+"."+a.name))
			}
			for _, n := range sortedKeys(j.Env) {
				emit(attrOcc(j.Body, "env", j.DeclRange, "env "+n+" of job "+j.Name, j.Env[n], k+".env"))
			}
			for _, con := range j.Constraints {
				for _, s := range con {
					emit(attrOcc(j.Body, "constraints", j.DeclRange, "job "+j.Name, s, k+".constraints"))
				}
			}
		}
	}},
	{"job.env names", "Chronos job JSON (environmentVariables)", []Syntax{SyntaxEnvName}, func(d *def.Definition, emit func(occurrence)) {
		for _, j := range d.Jobs {
			for _, n := range sortedKeys(j.Env) {
				emit(attrOcc(j.Body, "env", j.DeclRange, "job "+j.Name, n, "job."+j.Name+".env"))
			}
		}
	}},
	{"app.env names", "Marathon app JSON (Docker -e NAME=value)", []Syntax{SyntaxEnvName}, func(d *def.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			for _, n := range sortedKeys(a.Env) {
				emit(attrOcc(a.Body, "env", a.DeclRange, "app "+a.Name, n, "app."+a.Name+".env"))
			}
		}
	}},
	{"app.health_check.path", "Marathon app JSON (HTTP request line)", []Syntax{SyntaxURLPath}, func(d *def.Definition, emit func(occurrence)) {
		for _, a := range d.Apps {
			if hc := a.HealthCheck; hc != nil && hc.Path != "" {
				emit(occurrence{Value: hc.Path, Range: hc.DeclRange, Where: "health check of app " + a.Name, Key: "app." + a.Name + ".health_check.path"})
			}
		}
	}},
	{"image.ref", "Marathon app JSON (docker image)", []Syntax{SyntaxURL}, func(d *def.Definition, emit func(occurrence)) {
		for _, im := range d.Images {
			emit(attrOcc(im.Body, "ref", im.DeclRange, "image "+im.Name, im.Ref, "image."+im.Name+".ref"))
		}
	}},
	{"image label", "serengeti/www/docker/IMAGE.tar and its URL (Docker before 1.6)", []Syntax{SyntaxFileName}, func(d *def.Definition, emit func(occurrence)) {
		for _, im := range d.Images {
			emit(occurrence{Value: im.Name, Range: im.DeclRange, Where: "image label"})
		}
	}},
	{"vm_template label", "ovf/TEMPLATE/, .ovf/.mf/.ova names", []Syntax{SyntaxFileName}, func(d *def.Definition, emit func(occurrence)) {
		for _, t := range d.VMTemplates {
			emit(occurrence{Value: t.Name, Range: t.DeclRange, Where: "vm_template label"})
		}
	}},
	{"vm_template guest_os, firmware, hardware_version, annotation, network, nic, property", ".ovf (XML)", []Syntax{SyntaxXML}, func(d *def.Definition, emit func(occurrence)) {
		for _, t := range d.VMTemplates {
			k := "vm_template." + t.Name
			for _, a := range []struct{ n, v string }{{"guest_os", t.GuestOS}, {"firmware", t.Firmware}, {"hardware_version", t.HardwareVersion}, {"annotation", t.Annotation}, {"network", t.Network}} {
				emit(attrOcc(t.Body, a.n, t.DeclRange, "vm_template "+t.Name, a.v, k+"."+a.n))
			}
			for _, n := range t.NICs {
				emit(occurrence{Value: n.Network, Range: n.DeclRange, Where: "nic of vm_template " + t.Name, Key: k + ".nic.network"})
				emit(occurrence{Value: n.Adapter, Range: n.DeclRange, Where: "nic of vm_template " + t.Name, Key: k + ".nic.adapter"})
			}
			for _, p := range t.Properties {
				pk := k + ".property." + p.Key
				for _, v := range []string{p.Key, p.Type, p.Label, p.Description} {
					emit(occurrence{Value: v, Range: p.DeclRange, Where: "property " + p.Key + " of vm_template " + t.Name})
				}
				emit(occurrence{Value: p.Default, Range: p.DeclRange, Where: "property " + p.Key + " of vm_template " + t.Name, Key: pk + ".default"})
			}
		}
	}},
	{"vcenter.registry", "Marathon app JSON (image host), /etc/sysconfig/docker other_args", []Syntax{SyntaxHostPort}, func(d *def.Definition, emit func(occurrence)) {
		for _, v := range d.VCenters {
			if v.Registry != "" {
				emit(attrOcc(v.Body, "registry", v.DeclRange, "vcenter "+v.Name, strings.TrimSuffix(v.Registry, "/"), "vcenter."+v.Name+".registry"))
			}
		}
	}},
	{"vcenter.management_server", "bundle.json; deploy connects to it", []Syntax{SyntaxHostname}, func(d *def.Definition, emit func(occurrence)) {
		for _, v := range d.VCenters {
			if v.ManagementServer != "" {
				emit(attrOcc(v.Body, "management_server", v.DeclRange, "vcenter "+v.Name, v.ManagementServer, "vcenter."+v.Name+".management_server"))
			}
		}
	}},
	{"vcenter datacenter, datastore, folder, library, resource_pool, network, datastore_path", "bundle.json (JSON); vSphere inventory paths at deploy", []Syntax{SyntaxLine}, func(d *def.Definition, emit func(occurrence)) {
		for _, v := range d.VCenters {
			k := "vcenter." + v.Name
			for _, a := range []struct{ n, v string }{{"datacenter", v.Datacenter}, {"datastore", v.Datastore}, {"folder", v.Folder}, {"library", v.Library}, {"resource_pool", v.ResourcePool}, {"network", v.Network}, {"datastore_path", v.DatastorePath}} {
				emit(attrOcc(v.Body, a.n, v.DeclRange, "vcenter "+v.Name, a.v, k+"."+a.n))
			}
		}
	}},
}

// attrOcc is an occurrence at attribute name of body.
func attrOcc(body hcl.Body, name string, fallback hcl.Range, where, value, key string) occurrence {
	return occurrence{Value: value, Range: attrRange(body, name, fallback), Where: where, Key: key}
}

func eachGroup(d *def.Definition, f func(cl *def.Cluster, g *def.NodeGroup, key string)) {
	for _, cl := range d.Clusters {
		for _, g := range cl.NodeGroups {
			f(cl, g, "cluster."+cl.Name+".node_group."+g.Name)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSyntax checks every row of sinks: each string against every syntax
// of the files it lands in. A sensitive string is never quoted.
func (c *compiler) checkSyntax() {
	for _, s := range sinks {
		s.Each(c.d, func(o occurrence) {
			if o.Value == "" && o.Key != "" {
				return // unset optional attribute; required ones are checked elsewhere
			}
			for _, syn := range s.Syntaxes {
				why := syn.Check(o.Value)
				if why == "" {
					continue
				}
				shown := fmt.Sprintf("%q", o.Value)
				if o.Key != "" && c.d.Sensitive[o.Key] {
					shown = "(sensitive value)"
				}
				c.errorf(o.Range, "Invalid "+syn.Name, "The value %s (%s) %s. It lands in %s.", shown, o.Where, why, s.Files)
				break
			}
		})
	}
}
