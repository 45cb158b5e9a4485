package compiler

import "github.com/bdebundle/bundle/hcl/sitedef"

// appDependencies returns the Marathon ids of an app's dependencies on its
// own cluster (checkAppDependencies reports the others).
func (c *compiler) appDependencies(a *sitedef.App) []string {
	var ids []string
	for _, d := range a.Dependencies {
		if d.Cluster == a.Cluster {
			ids = append(ids, appID(d))
		}
	}
	return ids
}

// checkAppDependencies checks that each dependency of an app runs on the
// same cluster (one Marathon knows only its own apps).
func (c *compiler) checkAppDependencies(a *sitedef.App) {
	for _, d := range a.Dependencies {
		if d.Cluster != a.Cluster {
			c.errorf(attrRange(a.Body, "dependencies", a.DeclRange), "Dependency on another cluster", "App %q runs on cluster %q, but its dependency %q runs on cluster %q; a Marathon knows only its own cluster's apps.", a.Name, a.Cluster.Name, d.Name, d.Cluster.Name)
		}
	}
}

// checkAppDependencyCycles reports apps whose dependencies lead back to
// them: Marathon 0.8 refuses such a group.
func (c *compiler) checkAppDependencyCycles() {
	reportCycles(c.d.Apps, func(a *sitedef.App) []*sitedef.App { return a.Dependencies }, func(a *sitedef.App) string { return a.Name },
		func(a *sitedef.App, cycle string) {
			c.errorf(attrRange(a.Body, "dependencies", a.DeclRange), "App dependency cycle", "Apps depend on each other in a cycle: %s; Marathon refuses it.", cycle)
		})
}
