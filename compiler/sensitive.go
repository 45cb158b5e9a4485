package compiler

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Redacted stands for a sensitive value wherever the plan, bundle.json or a
// message would show it.
const Redacted = "(sensitive)"

// minSecretLen is the shortest sensitive string a rendered file is searched
// for: shorter ones would mark unrelated files.
const minSecretLen = 4

// secrets returns the sensitive strings of the definition: every string in
// the value of a sensitive variable, and every string of an attribute whose
// expression derives from one (as the sinks table sees them).
func (c *compiler) secrets() []string {
	var out []string
	add := func(s string) {
		if len(s) >= minSecretLen && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, v := range c.d.Variables {
		if v.Sensitive && v.Value != cty.NilVal {
			sitedef.EachString(v.Value, add)
		}
	}
	// Every attribute derived from one, wherever it goes (the sinks below
	// add the forms the rendered files hold them in).
	for _, s := range c.d.SensitiveStrings() {
		add(s)
	}
	for _, s := range sinks {
		s.Each(c.d, func(o occurrence) {
			if o.Key != "" && c.d.Sensitive[o.Key] {
				add(o.Value)
				// user:password: the password alone is secret too.
				if _, pw, ok := strings.Cut(o.Value, ":"); ok {
					add(pw)
				}
			}
		})
	}
	return out
}

// markSensitiveFiles marks every rendered file that holds a sensitive string
// as sensitive, whichever way the string got there.
func (c *compiler) markSensitiveFiles(p *Plan) {
	secrets := c.secrets()
	if len(secrets) == 0 {
		return
	}
	// Derived template properties are computed (host lists, attribute
	// values): hide those that hold a secret; out marks their .ovf.
	for _, t := range p.Templates {
		for _, d := range t.Derived {
			for k, v := range d.Properties {
				for _, s := range secrets {
					if strings.Contains(v, s) {
						d.Properties[k] = Redacted
						break
					}
				}
			}
		}
	}
	// The renderers write strings raw, or encoded as JSON, Ruby or XML:
	// a secret is searched for in each of those forms.
	var forms [][]byte
	for _, s := range secrets {
		for _, f := range encodings(s) {
			forms = append(forms, []byte(f))
		}
	}
	for _, f := range p.Files {
		for _, s := range forms {
			if bytes.Contains(f.Data, s) {
				f.Sensitive = true
				break
			}
		}
	}
}

// encodings returns s as the rendered files and messages may hold it: as
// is, inside a JSON string (with and without HTML escaping), a Ruby
// literal, XML text and a Go-quoted string.
func encodings(s string) []string {
	out := []string{s}
	add := func(e string) {
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if b, err := json.Marshal(s); err == nil {
		add(string(b[1 : len(b)-1]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		if e := strings.TrimSuffix(buf.String(), "\n"); len(e) >= 2 {
			add(e[1 : len(e)-1])
		}
	}
	if r := rubyString(s); len(r) >= 2 {
		add(r[1 : len(r)-1])
	}
	buf.Reset()
	if xml.EscapeText(&buf, []byte(s)) == nil {
		add(buf.String())
	}
	add(strings.TrimSuffix(strings.TrimPrefix(strconv.Quote(s), `"`), `"`))
	return out
}

// SensitiveStrings returns the strings of d that must never be printed:
// the values of sensitive variables and of locals derived from them, and
// every string an attribute derived from them lands in a rendered file as.
func SensitiveStrings(d *sitedef.Definition) []string {
	c := &compiler{d: d}
	return c.secrets()
}

// Scrub replaces every form (raw, quoted, escaped) of every sensitive
// string of d in the diagnostics' summaries and details with "(sensitive
// value)": whatever check or library wrote a message, it never shows a
// secret. It changes diags in place and returns them.
func Scrub(d *sitedef.Definition, diags hcl.Diagnostics) hcl.Diagnostics {
	if d == nil || len(diags) == 0 {
		return diags
	}
	var forms []string
	for _, s := range SensitiveStrings(d) {
		forms = append(forms, encodings(s)...)
	}
	if len(forms) == 0 {
		return diags
	}
	// Longest first, so that a secret inside a longer one goes with it.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, dg := range diags {
		for _, f := range forms {
			dg.Summary = strings.ReplaceAll(dg.Summary, f, "(sensitive value)")
			dg.Detail = strings.ReplaceAll(dg.Detail, f, "(sensitive value)")
		}
	}
	return diags
}

// sensitive reports whether any of the attributes (Definition.Sensitive
// keys) derives from a sensitive variable.
func (c *compiler) sensitive(keys ...string) bool {
	for _, k := range keys {
		if c.d.Sensitive[k] {
			return true
		}
	}
	return false
}

// redactPlan replaces sensitive values in the parts of the plan that are
// printed (build --plan, --json) and written into bundle.json.
func (c *compiler) redactPlan(p *Plan) {
	d := c.d
	if b := d.Bundle; b != nil && c.sensitive("bundle."+b.Name+".description") {
		p.Description = Redacted
	}
	for i, cl := range d.Clusters {
		if i >= len(p.Clusters) {
			break
		}
		for j, g := range cl.NodeGroups {
			if j >= len(p.Clusters[i].NodeGroups) {
				break
			}
			ng := p.Clusters[i].NodeGroups[j]
			key := "cluster." + cl.Name + ".node_group." + g.Name
			if sp := g.StorageProfile; c.sensitive(key+".attributes") || sp != nil && c.sensitive("storage_profile."+sp.Name+".value") {
				ng.Attributes = redactMap(ng.Attributes)
			}
		}
	}
	for i, a := range d.Apps {
		if i < len(p.Apps) && c.sensitive("app."+a.Name+".constraints") {
			ap := p.Apps[i]
			cons := make([][]string, len(ap.Constraints))
			for k, con := range ap.Constraints {
				cons[k] = slices.Clone(con)
				if len(cons[k]) > 2 {
					cons[k][2] = Redacted
				}
			}
			ap.Constraints = cons
		}
	}
}

func redactMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = Redacted
	}
	return out
}

// hideable are the attributes a sensitive value may reach: those whose
// every way out is hidden (files marked sensitive, "(sensitive)" in the
// plan and bundle.json, never quoted in messages). Variables and locals are
// not outputs. Keys are Definition.Sensitive's.
var hideable = regexp.MustCompile(`^(variable\.|locals\.|bundle\.[^.]+\.description$|app\.[^.]+\.(cmd|args|env|constraints|health_check\.path)$|cluster\.[^.]+\.node_group\.[^.]+\.(attributes|hosts|template_properties)$|cluster\.[^.]+\.haproxy\.stats_auth$|storage_profile\.[^.]+\.value$)`)

// checkNotSensitive refuses sensitive values where the bundle or the plan
// carries them readable: anywhere but the hideable attributes. Deploy
// targets are read back from bundle.json by deploy; names, ids, versions,
// URLs and counts are printed by the plan, inspect and diff, or written by
// the executor into files the compiler does not render (.repo files, .ovf
// descriptors).
func (c *compiler) checkNotSensitive() {
	vcenter := regexp.MustCompile(`^vcenter\.`)
	names := make([]string, 0, len(c.d.Files))
	for n := range c.d.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sb, ok := c.d.Files[n].Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		var walk func(b *hclsyntax.Body, prefix string)
		walk = func(b *hclsyntax.Body, prefix string) {
			attrs := make([]string, 0, len(b.Attributes))
			for a := range b.Attributes {
				attrs = append(attrs, a)
			}
			sort.Strings(attrs)
			for _, a := range attrs {
				key := prefix + "." + a
				if c.d.Sensitive[key] && !hideable.MatchString(key) && !vcenter.MatchString(key) {
					c.errorf(b.Attributes[a].SrcRange, "Sensitive value where it would be shown",
						"%s derives from a sensitive variable, but its value is shown by the plan, inspect or diff, or written where it cannot be marked sensitive. Sensitive values may reach only a bundle's description; an app's cmd, args, env, constraints and health check path; a node group's attributes, hosts and template_properties; a storage profile's value; haproxy stats_auth.", key)
				}
			}
			for _, nb := range b.Blocks {
				p := prefix + "." + nb.Type
				if len(nb.Labels) > 0 {
					p += "." + nb.Labels[0]
				}
				walk(nb.Body, p)
			}
		}
		for _, blk := range sb.Blocks {
			p := blk.Type
			if len(blk.Labels) > 0 {
				p += "." + blk.Labels[0]
			}
			walk(blk.Body, p)
		}
	}
	for _, v := range c.d.VCenters {
		for _, a := range []string{"datacenter", "datastore", "folder", "library", "resource_pool", "network", "datastore_path", "registry", "management_server"} {
			if c.sensitive("vcenter." + v.Name + "." + a) {
				c.errorf(attrRange(v.Body, a, v.DeclRange), "Sensitive deploy target", "vcenter %q: %s derives from a sensitive variable, but deploy targets are carried readable in bundle.json (credentials come from GOVC_* at deploy time, never from the definition).", v.Name, a)
			}
		}
	}
}
