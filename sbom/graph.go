package sbom

import (
	"slices"

	"github.com/bdebundle/bundle/internal/rpmdep"
)

// Repo is one yum repository of a bundle for the dependency graph: its
// name and its RPMs.
type Repo struct {
	Name string
	RPMs []Node
}

// Node is one RPM of a bundle in the graph: its path in the bundle and
// what rpm's dependency arithmetic needs of it.
type Node struct {
	Path string
	Dep  rpmdep.Package
}

// Distro is one distro of a bundle: its name and the repos it ships.
type Distro struct {
	Name  string
	Repos []string
}

// Requires is the SBOM's dependency graph: every RPM's requirements
// resolved once, within the repos yum sees together: each distro's repos (a
// repo of no distro on its own). It maps the bundle path of an RPM to the
// sorted bundle paths of the RPMs that satisfy its requirements.
func Requires(repos []Repo, distros []Distro) map[string][]string {
	byName := map[string]Repo{}
	for _, r := range repos {
		byName[r.Name] = r
	}
	var sets [][]string
	inDistro := map[string]bool{}
	for _, d := range distros {
		sets = append(sets, d.Repos)
		for _, n := range d.Repos {
			inDistro[n] = true
		}
	}
	for _, r := range repos {
		if !inDistro[r.Name] {
			sets = append(sets, []string{r.Name})
		}
	}
	deps := map[string]map[string]bool{}
	for _, set := range sets {
		var pkgs []rpmdep.Package
		var paths []string
		for _, n := range set {
			for _, p := range byName[n].RPMs {
				pkgs = append(pkgs, p.Dep)
				paths = append(paths, p.Path)
			}
		}
		for i, on := range rpmdep.Providers(pkgs) {
			if deps[paths[i]] == nil {
				deps[paths[i]] = map[string]bool{}
			}
			for _, j := range on {
				deps[paths[i]][paths[j]] = true
			}
		}
	}
	out := make(map[string][]string, len(deps))
	for p, on := range deps {
		list := make([]string, 0, len(on))
		for q := range on {
			list = append(list, q)
		}
		slices.Sort(list)
		out[p] = list
	}
	return out
}

// Namespace is the purl namespace of a repo's RPMs that carry no Vendor:
// the first distro (by name) that ships the repo, else the repo.
func Namespace(repo string, distros []Distro) string {
	var names []string
	for _, d := range distros {
		if slices.Contains(d.Repos, repo) {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return repo
	}
	slices.Sort(names)
	return names[0]
}
