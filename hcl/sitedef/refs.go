package sitedef

import (
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
)

// didYouMean suggests the closest of candidates to name, or "".
func didYouMean(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := levenshtein.Distance(name, c, nil)
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= 3 && bestD < len(name) {
		return fmt.Sprintf(" Did you mean %q?", best)
	}
	return ""
}

// ref resolves expr, which must be a reference like kind.NAME, against names.
func ref[T any](expr hcl.Expression, kind string, names map[string]T) (T, hcl.Diagnostics) {
	var zero T
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() {
		return zero, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid reference",
			Detail: fmt.Sprintf("Expected a reference to a %s block, like %s.NAME (without quotes).", kind, kind), Subject: expr.Range().Ptr()}}
	}
	root := trav.RootName()
	var attr string
	if len(trav) >= 2 {
		if a, ok := trav[1].(hcl.TraverseAttr); ok {
			attr = a.Name
		}
	}
	if root != kind || attr == "" || len(trav) != 2 {
		return zero, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid reference",
			Detail: fmt.Sprintf("Expected a reference to a %s block, like %s.NAME; got %s.", kind, kind, traversalString(trav)), Subject: expr.Range().Ptr()}}
	}
	v, ok := names[attr]
	if !ok {
		return zero, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Reference to undeclared " + kind,
			Detail: fmt.Sprintf("No %s block named %q is declared.%s", kind, attr, didYouMean(attr, keys(names))), Subject: expr.Range().Ptr()}}
	}
	return v, nil
}

func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for i, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			b.WriteString("[…]")
		default:
			if i > 0 {
				b.WriteString("…")
			}
		}
	}
	return b.String()
}

func present(e hcl.Expression) bool { return e != nil && !isNullExpr(e) }

func (d *Definition) resolveReferences() hcl.Diagnostics {
	var diags hcl.Diagnostics
	repos := byName(d.Repos, func(x *Repo) string { return x.Name })
	distros := byName(d.Distros, func(x *Distro) string { return x.Name })
	profiles := byName(d.StorageProfiles, func(x *StorageProfile) string { return x.Name })
	clusters := byName(d.Clusters, func(x *Cluster) string { return x.Name })
	images := byName(d.Images, func(x *Image) string { return x.Name })
	templates := byName(d.VMTemplates, func(x *VMTemplate) string { return x.Name })
	for _, ds := range d.Distros {
		rs, rd := refList(ds.ReposExpr, "repo", repos, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid reference list",
			Detail: "repos must be a list of repo references, like [repo.mesos].", Subject: ds.ReposExpr.Range().Ptr()})
		diags = append(diags, rd...)
		ds.Repos = append(ds.Repos, rs...)
	}
	for _, c := range d.Clusters {
		x, rd := ref(c.DistroExpr, "distro", distros)
		diags = append(diags, rd...)
		c.Distro = x
		for _, g := range c.NodeGroups {
			if present(g.StorageProfileExpr) {
				p, rd := ref(g.StorageProfileExpr, "storage_profile", profiles)
				diags = append(diags, rd...)
				g.StorageProfile = p
			}
			if present(g.TemplateExpr) {
				t, rd := ref(g.TemplateExpr, "vm_template", templates)
				diags = append(diags, rd...)
				g.Template = t
			}
		}
	}
	diags = append(diags, d.resolveJobs(clusters, images)...)
	diags = append(diags, d.resolveDependencies()...)
	for _, a := range d.Apps {
		var rd hcl.Diagnostics
		a.Cluster, a.Image, rd = clusterAndImage(a.ClusterExpr, a.ImageExpr, clusters, images)
		diags = append(diags, rd...)
	}
	return diags
}

// resolveJobs resolves each job's cluster, image and parents.
func (d *Definition) resolveJobs(clusters map[string]*Cluster, images map[string]*Image) hcl.Diagnostics {
	var diags hcl.Diagnostics
	jobs := byName(d.Jobs, func(x *Job) string { return x.Name })
	for _, j := range d.Jobs {
		var rd hcl.Diagnostics
		j.Cluster, j.Image, rd = clusterAndImage(j.ClusterExpr, j.ImageExpr, clusters, images)
		diags = append(diags, rd...)
		if !present(j.ParentsExpr) {
			continue
		}
		parents, rd := refList(j.ParentsExpr, "job", jobs, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid parents list",
			Detail: "parents must be a list of job references, like [job.backup].", Subject: j.ParentsExpr.Range().Ptr()})
		diags = append(diags, rd...)
		j.Parents = append(j.Parents, parents...)
	}
	return diags
}

// resolveDependencies resolves each app's dependencies (app references).
func (d *Definition) resolveDependencies() hcl.Diagnostics {
	var diags hcl.Diagnostics
	apps := byName(d.Apps, func(x *App) string { return x.Name })
	for _, a := range d.Apps {
		if !present(a.DependsExpr) {
			continue
		}
		deps, rd := refList(a.DependsExpr, "app", apps, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid dependencies list",
			Detail: "dependencies must be a list of app references, like [app.db].", Subject: a.DependsExpr.Range().Ptr()})
		diags = append(diags, rd...)
		a.Dependencies = append(a.Dependencies, deps...)
	}
	return diags
}

// byName indexes the blocks of one kind by their label.
func byName[T any](blocks []T, name func(T) string) map[string]T {
	m := make(map[string]T, len(blocks))
	for _, b := range blocks {
		m[name(b)] = b
	}
	return m
}

// clusterAndImage resolves an app's or a job's cluster and, when given, its
// image.
func clusterAndImage(clusterExpr, imageExpr hcl.Expression, clusters map[string]*Cluster, images map[string]*Image) (*Cluster, *Image, hcl.Diagnostics) {
	c, diags := ref(clusterExpr, "cluster", clusters)
	var im *Image
	if present(imageExpr) {
		var rd hcl.Diagnostics
		im, rd = ref(imageExpr, "image", images)
		diags = append(diags, rd...)
	}
	return c, im, diags
}

// refList resolves expr, a list of references to kind blocks, and returns
// the blocks found, in order. A value that is not a list is the one error
// notList and no blocks.
func refList[T any](expr hcl.Expression, kind string, names map[string]*T, notList *hcl.Diagnostic) ([]*T, hcl.Diagnostics) {
	exprs, lds := hcl.ExprList(expr)
	if lds.HasErrors() {
		return nil, hcl.Diagnostics{notList}
	}
	var found []*T
	var diags hcl.Diagnostics
	for _, e := range exprs {
		v, rd := ref(e, kind, names)
		diags = append(diags, rd...)
		if v != nil {
			found = append(found, v)
		}
	}
	return found, diags
}
