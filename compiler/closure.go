package compiler

import (
	"fmt"
	"path"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/hashicorp/hcl/v2"
)

// checkClosure checks that every requirement of the distro's packages is met
// by its repos and baseline (provides as written, and the packages of its
// baseline repodata). A requirement matched by allow_unresolved is a
// warning. Skipped when any of the distro's repos was not scanned.
func (c *compiler) checkClosure(ds *sitedef.Distro) {
	if c.facts == nil {
		return
	}
	var pkgs []rpmdep.Package
	for _, r := range ds.Repos {
		pfs, ok := c.facts.Packages[r.Name]
		if !ok {
			return
		}
		for _, pf := range pfs {
			pkgs = append(pkgs, rpmdep.Package{NEVRA: pf.NEVRA.String(), Provides: pf.Provides, Requires: pf.Requires, Files: pf.Files})
		}
	}
	var baseline []rpmdep.Dep
	if b := ds.Baseline; b != nil {
		for _, p := range b.Provides {
			baseline = append(baseline, rpmdep.Parse(p))
		}
		for _, dir := range b.Repodata {
			for _, bp := range c.facts.Baselines[dir] {
				baseline = append(baseline, rpmdep.Dep{Name: bp.Name, Flags: "EQ", Epoch: bp.Epoch, Version: bp.Version, Release: bp.Release})
				baseline = append(baseline, bp.Provides...)
				for _, f := range bp.Files {
					baseline = append(baseline, rpmdep.Dep{Name: f})
				}
			}
		}
	}
	// One diagnostic per missing capability, naming every package that
	// needs it: a capability hundreds of packages require is one message.
	for _, u := range rpmdep.GroupByRequirement(rpmdep.Unresolved(pkgs, baseline)) {
		sev := hcl.DiagError
		for _, pat := range ds.AllowUnresolved {
			if ok, _ := path.Match(pat, depName(u.Requirement)); ok {
				sev = hcl.DiagWarning
			}
		}
		who := u.Packages[0] + " requires " + u.Requirement
		if n := len(u.Packages); n > 1 {
			who = fmt.Sprintf("%d packages require %s (%s)", n, u.Requirement, namesUpTo(u.Packages, maxNamed))
		}
		c.diags = append(c.diags, MarkFollows(&hcl.Diagnostic{Severity: sev, Summary: "Unresolved dependency",
			Detail: fmt.Sprintf("%s, which no package of distro %q's repos (%s) nor its baseline provides. Add the package to a repo, list the capability in baseline { provides = [...] }, or match it in allow_unresolved.",
				who, ds.Name, repoNames(ds)),
			Subject: attrRange(ds.Body, "repos", ds.DeclRange).Ptr()}, repoCauses(ds)...))
	}
}

// maxNamed is how many requiring packages an unresolved-dependency
// diagnostic names before it gives the rest as a count.
const maxNamed = 20

func namesUpTo(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// depName is the capability a requirement names (the first of a rich one).
func depName(req string) string {
	n, _, _ := strings.Cut(strings.TrimPrefix(req, "("), " ")
	return n
}
