package sbom

import (
	"reflect"
	"testing"

	"github.com/bdebundle/bundle/internal/rpmdep"
)

func TestRequiresWithinWhatYumSees(t *testing.T) {
	node := func(path, provides string, requires ...string) Node {
		n := Node{Path: path, Dep: rpmdep.Package{NEVRA: path, Provides: []rpmdep.Dep{{Name: provides}}}}
		for _, r := range requires {
			n.Dep.Requires = append(n.Dep.Requires, rpmdep.Dep{Name: r})
		}
		return n
	}
	repos := []Repo{
		{Name: "mesos", RPMs: []Node{node("mesos/mesos.rpm", "mesos", "zookeeper", "libc")}},
		{Name: "deps", RPMs: []Node{node("deps/zk.rpm", "zookeeper"), node("deps/zk2.rpm", "zookeeper")}},
		{Name: "alone", RPMs: []Node{node("alone/tool.rpm", "tool", "zookeeper")}},
	}
	distros := []Distro{{Name: "mesos", Repos: []string{"mesos", "deps"}}}
	got := Requires(repos, distros)
	want := map[string][]string{
		"mesos/mesos.rpm": {"deps/zk.rpm", "deps/zk2.rpm"},
		"deps/zk.rpm":     {},
		"deps/zk2.rpm":    {},
		// a repo of no distro is resolved on its own: the distro's
		// zookeeper does not satisfy it
		"alone/tool.rpm": {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Requires = %v, want %v", got, want)
	}
}

func TestNamespace(t *testing.T) {
	distros := []Distro{{Name: "zeta", Repos: []string{"shared"}}, {Name: "alpha", Repos: []string{"shared", "own"}}}
	for _, tt := range []struct{ repo, want string }{{"shared", "alpha"}, {"own", "alpha"}, {"none", "none"}} {
		if got := Namespace(tt.repo, distros); got != tt.want {
			t.Errorf("Namespace(%q) = %q, want %q", tt.repo, got, tt.want)
		}
	}
}
