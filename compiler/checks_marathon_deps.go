package compiler

import (
	"slices"
	"strings"

	def "github.com/bdebundle/bundle/hcl"
)

// appDependencies returns the Marathon ids of an app's dependencies on its
// own cluster (checkAppDependencies reports the others).
func (c *compiler) appDependencies(a *def.App) []string {
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
func (c *compiler) checkAppDependencies(a *def.App) {
	for _, d := range a.Dependencies {
		if d.Cluster != a.Cluster {
			c.errorf(attrRange(a.Body, "dependencies", a.DeclRange), "Dependency on another cluster", "App %q runs on cluster %q, but its dependency %q runs on cluster %q; a Marathon knows only its own cluster's apps.", a.Name, a.Cluster.Name, d.Name, d.Cluster.Name)
		}
	}
}

// checkAppDependencyCycles reports apps whose dependencies lead back to
// them: Marathon 0.8 refuses such a group.
func (c *compiler) checkAppDependencyCycles() {
	state := map[*def.App]int{}
	var visit func(a *def.App, path []string)
	visit = func(a *def.App, path []string) {
		switch state[a] {
		case 2:
			return
		case 1:
			i := slices.Index(path, a.Name)
			cycle := append(slices.Clone(path[i:]), a.Name)
			c.errorf(attrRange(a.Body, "dependencies", a.DeclRange), "App dependency cycle", "Apps depend on each other in a cycle: %s; Marathon refuses it.", strings.Join(cycle, " → "))
			return
		}
		state[a] = 1
		for _, d := range a.Dependencies {
			visit(d, append(path, a.Name))
		}
		state[a] = 2
	}
	for _, a := range c.d.Apps {
		visit(a, nil)
	}
}
