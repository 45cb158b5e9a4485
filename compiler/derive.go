package compiler

import (
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/vmtemplate"
)

// groupPropertyValues returns the vApp property values a node group fills
// in by itself when its template declares those keys (without a class).
func groupPropertyValues(cl *sitedef.Cluster, g *sitedef.NodeGroup) map[string]string {
	v := map[string]string{
		"role":       strings.Join(g.Roles, ","),
		"roles":      strings.Join(g.Roles, ","),
		"zookeeper":  zkURL(cl),
		"cluster":    cl.Name,
		"node_group": g.Name,
	}
	if g.StorageProfile != nil {
		v["storage_profile"] = g.StorageProfile.Name
	}
	return v
}

// deriveTemplates gives every node group whose template has properties to
// fill (the group's own values of the keys groupPropertyValues knows, and the group's
// template_properties) a derived template <template>-<cluster>-<group>,
// and points the group's plan at it. A group whose values are the
// template's own defaults keeps the template itself.
func (c *compiler) deriveTemplates(p *Plan) {
	byName := map[string]*TemplatePlan{}
	for _, t := range p.Templates {
		byName[t.Name] = t
	}
	taken := map[string]bool{}
	for _, t := range c.d.VMTemplates {
		taken[t.Name] = true
	}
	for i, cl := range c.d.Clusters {
		for j, g := range cl.NodeGroups {
			if g.Template == nil {
				if len(g.TemplateProperties) > 0 {
					c.errorf(attrRange(g.Body, "template_properties", g.DeclRange), "No template", "template_properties fills in the vApp properties of the node group's template, and the group names none; add template = vm_template.<name>.")
				}
				continue
			}
			tp := byName[g.Template.Name]
			if tp == nil {
				continue
			}
			auto := groupPropertyValues(cl, g)
			props := map[string]string{}
			for _, pr := range tp.OVF.Properties {
				if v, ok := auto[pr.Key]; ok && pr.Class == "" {
					props[pr.Key] = v
				}
			}
			rng := attrRange(g.Body, "template_properties", g.DeclRange)
			for k, v := range g.TemplateProperties {
				props[k] = v
			}
			name := tp.Name + "-" + cl.Name + "-" + g.Name
			derived, err := tp.OVF.Derive(name, props)
			if err != nil {
				ps := vmtemplate.Problems{err}
				errors.As(err, &ps)
				for _, e := range ps {
					c.errorf(rng, "Invalid template property", "%v. The template's properties are %s.", e, propertyKeys(tp.OVF))
				}
				continue
			}
			if slices.EqualFunc(derived.Properties, tp.OVF.Properties, func(a, b vmtemplate.Property) bool { return a.Default == b.Default }) {
				continue // nothing to fill: the group uses the template itself
			}
			if len(name) > 80 {
				c.errorf(g.DeclRange, "Derived template name too long", "The node group's derived template would be named %q (%d characters); vSphere names of templates hold at most 80. Shorten the vm_template, cluster or node group name.", name, len(name))
				continue
			}
			if taken[name] {
				c.errorf(g.DeclRange, "Duplicate template name", "The node group's derived template would be named %q, which is already taken; rename the node group or the vm_template.", name)
				continue
			}
			taken[name] = true
			shown := maps.Clone(props)
			if c.d.Sensitive["cluster."+cl.Name+".node_group."+g.Name+".template_properties"] {
				for k := range g.TemplateProperties {
					shown[k] = Redacted
				}
			}
			dt := tp.newDerived(name)
			dt.Cluster, dt.NodeGroup, dt.Properties, dt.OVF = cl.Name, g.Name, shown, derived
			tp.Derived = append(tp.Derived, dt)
			if i < len(p.Clusters) && j < len(p.Clusters[i].NodeGroups) {
				p.Clusters[i].NodeGroups[j].Template = name
			}
		}
	}
	for _, t := range p.Templates {
		sort.Slice(t.Derived, func(a, b int) bool { return t.Derived[a].Name < t.Derived[b].Name })
	}
}

func propertyKeys(t vmtemplate.Template) string {
	var ks []string
	for _, p := range t.Properties {
		ks = append(ks, p.FullKey())
	}
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(slices.Values(ks)), ", ")
}
