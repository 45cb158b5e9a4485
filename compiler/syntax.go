package compiler

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/bdebundle/bundle/hcl/sitedef"
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
// to the table of the family that writes it (or a Syntax to a row): every
// row of sinks is checked by checkSyntax.
type sink struct {
	Attr     string   // as in docs/compiler.md: block.attribute
	Files    string   // where it lands
	Syntaxes []Syntax // every syntax it must fit
	Each     func(d *sitedef.Definition, emit func(occurrence))
}

// sinks is the table of every user string that reaches a rendered file:
// each family's rows live with its renderer (bdeSinks in bde.go, mesosSinks
// in mesos.go, marathonSinks in marathon.go, haproxySinks in haproxy.go,
// chronosSinks in chronos.go;
// the chef family writes only what those do), and planSinks holds those of
// the files the Plan names and the builder writes (bundle.json, the .repo
// files, the OVF descriptors, the docker load archives).
var sinks = slices.Concat(planSinks, bdeSinks, mesosSinks, haproxySinks, marathonSinks, chronosSinks)

// planSinks are the rows of the files the Plan names and the builder writes.
var planSinks = []sink{
	{"bundle.description", "bundle.json", []Syntax{SyntaxJSON}, func(d *sitedef.Definition, emit func(occurrence)) {
		if b := d.Bundle; b != nil {
			emit(attrOcc(b.Body, "description", b.DeclRange, "bundle "+b.Name, b.Description, "bundle."+b.Name+".description"))
		}
	}},
	{"repo label", "serengeti/www/yum/LABEL.repo, the .repo section", []Syntax{SyntaxFileName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, r := range d.Repos {
			emit(occurrence{Value: r.Name, Range: r.DeclRange, Where: "repo label"})
		}
	}},
	{"node_group.template_properties", "derived .ovf (XML)", []Syntax{SyntaxXML}, func(d *sitedef.Definition, emit func(occurrence)) {
		eachGroup(d, func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string) {
			for _, k := range sortedKeys(g.TemplateProperties) {
				emit(attrOcc(g.Body, "template_properties", g.DeclRange, "node group "+g.Name, k, key+".template_properties"))
				emit(attrOcc(g.Body, "template_properties", g.DeclRange, "property "+k+" of node group "+g.Name, g.TemplateProperties[k], key+".template_properties"))
			}
		})
	}},
	{"image label", "serengeti/www/docker/IMAGE.tar and its URL (Docker before 1.6)", []Syntax{SyntaxFileName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, im := range d.Images {
			emit(occurrence{Value: im.Name, Range: im.DeclRange, Where: "image label"})
		}
	}},
	{"vm_template label", "ovf/TEMPLATE/, .ovf/.mf/.ova names", []Syntax{SyntaxFileName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, t := range d.VMTemplates {
			emit(occurrence{Value: t.Name, Range: t.DeclRange, Where: "vm_template label"})
		}
	}},
	{"vm_template guest_os, firmware, hardware_version, annotation, network, nic, property", ".ovf (XML)", []Syntax{SyntaxXML}, func(d *sitedef.Definition, emit func(occurrence)) {
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
	{"vcenter.management_server", "bundle.json; deploy connects to it", []Syntax{SyntaxHostname}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, v := range d.VCenters {
			if v.ManagementServer != "" {
				emit(attrOcc(v.Body, "management_server", v.DeclRange, "vcenter "+v.Name, v.ManagementServer, "vcenter."+v.Name+".management_server"))
			}
		}
	}},
	{"vcenter datacenter, datastore, folder, library, resource_pool, network, datastore_path", "bundle.json (JSON); vSphere inventory paths at deploy", []Syntax{SyntaxLine}, func(d *sitedef.Definition, emit func(occurrence)) {
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

func eachGroup(d *sitedef.Definition, f func(cl *sitedef.Cluster, g *sitedef.NodeGroup, key string)) {
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
