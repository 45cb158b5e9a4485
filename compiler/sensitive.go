package compiler

import (
	"bytes"
	"slices"
	"strings"

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
			eachString(v.Value, add)
		}
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

// eachString calls f with every known string inside v.
func eachString(v cty.Value, f func(string)) {
	if v.IsNull() || !v.IsKnown() {
		return
	}
	v, _ = v.Unmark()
	ty := v.Type()
	switch {
	case ty == cty.String:
		f(v.AsString())
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType() || ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			eachString(e, f)
		}
	}
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
	for _, f := range p.Files {
		for _, s := range secrets {
			if bytes.Contains(f.Data, []byte(s)) {
				f.Sensitive = true
				break
			}
		}
	}
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
			if c.sensitive(key + ".attributes") {
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

// checkNotSensitive refuses sensitive values where the bundle must carry
// them readable: deploy targets are read back from bundle.json by deploy.
func (c *compiler) checkNotSensitive() {
	for _, v := range c.d.VCenters {
		for _, a := range []string{"datacenter", "datastore", "folder", "library", "resource_pool", "network", "datastore_path", "registry", "management_server"} {
			if c.sensitive("vcenter." + v.Name + "." + a) {
				c.errorf(attrRange(v.Body, a, v.DeclRange), "Sensitive deploy target", "vcenter %q: %s derives from a sensitive variable, but deploy targets are carried readable in bundle.json (credentials come from GOVC_* at deploy time, never from the definition).", v.Name, a)
			}
		}
	}
}
