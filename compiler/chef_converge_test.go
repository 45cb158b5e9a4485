package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

type convergedNode struct {
	Files     map[string]string   `json:"files"`
	Modes     map[string][]string `json:"modes"`
	Resources []struct {
		ID            string     `json:"id"`
		Cookbook      string     `json:"cookbook"`
		Action        string     `json:"action"`
		Notifications [][]string `json:"notifications"`
	} `json:"resources"`
	Included []string       `json:"included"`
	Searches []string       `json:"searches"`
	Polls    map[string]int `json:"polls"`
}

// converge runs the recipes for one node of the example with
// testdata/ruby/converge_recipes.rb over a node file system rooted at root.
func converge(t *testing.T, p *Plan, cookbook, cluster, group, root string) convergedNode {
	t.Helper()
	n, stderr, err := convergeIndexed(t, p, cookbook, cluster, group, root, nil, nil)
	if err != nil {
		t.Fatalf("running the recipes for %s/%s: %v\n%s", cluster, group, err, stderr)
	}
	return n
}

// convergeIndexed is converge with a Chef search that has indexed, per
// node group and per search, only the facet indexes listed (nil: all), and
// with the nodes of noFQDN (group: facet indexes) lacking an FQDN.
func convergeIndexed(t *testing.T, p *Plan, cookbook, cluster, group, root string, indexed map[string][][]int, noFQDN map[string][]int) (convergedNode, string, error) {
	t.Helper()
	ruby := needTool(t, "ruby", "ruby")
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "converge_recipes.rb")
	cmd := exec.Command(ruby, script, cookbook, CookbookName(p.Name), cluster, group, root)
	cmd.Env = os.Environ()
	for name, v := range map[string]any{"BUNDLE_TEST_INDEXED": indexed, "BUNDLE_TEST_NO_FQDN": noFQDN} {
		if b, err := json.Marshal(v); err != nil {
			t.Fatal(err)
		} else if string(b) != "null" {
			cmd.Env = append(cmd.Env, name+"="+string(b))
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return convergedNode{}, stderr.String(), err
	}
	var n convergedNode
	if err := json.Unmarshal(out, &n); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return n, stderr.String(), nil
}

// The recipes, run in run-list order around the mesos cookbook's resources,
// leave each node with exactly the files the compiler rendered for its
// group and cluster; the mesos cookbook's flag-file executes and internet
// downloads never run; Mesos and Docker are not restarted on a first run.
func TestRecipesConverge(t *testing.T) {
	p := examplePlan(t)
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	for _, g := range []string{"master", "fast", "bulk"} {
		t.Run(g, func(t *testing.T) {
			n := converge(t, p, cb, "mesos01", g, t.TempDir())
			prefix := "clusters/mesos01/nodes/" + g
			want := map[string][]byte{}
			for _, f := range p.Files {
				if rest, ok := strings.CutPrefix(f.Path, prefix); ok {
					want[rest] = f.Data
				}
			}
			for node, plan := range map[string]string{
				"/etc/haproxy/haproxy.cfg":               "clusters/mesos01/haproxy/haproxy.cfg",
				"/etc/haproxy-marathon-bridge/marathons": "clusters/mesos01/haproxy/marathons",
				"/usr/local/bin/haproxy-marathon-bridge": "clusters/mesos01/haproxy/haproxy-marathon-bridge",
				"/etc/cron.d/haproxy-marathon-bridge":    "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge",
			} {
				want[node] = planFile(t, p, plan).Data
			}
			for path, data := range want {
				got, ok := n.Files[path]
				switch {
				case !ok:
					t.Errorf("%s is not written", path)
				case got == "upstream":
					t.Errorf("%s is left to the mesos cookbook", path)
				case got != string(data):
					t.Errorf("%s:\n%q\nwant\n%q", path, got, data)
				}
			}
			if m := n.Modes["/etc/cron.d/haproxy-marathon-bridge"]; !slices.Equal(m, []string{"root", "0644"}) {
				t.Errorf("cron.d file owner/mode %v", m)
			}
			if m := n.Modes["/usr/local/bin/haproxy-marathon-bridge"]; !slices.Equal(m, []string{"root", "0755"}) {
				t.Errorf("bridge owner/mode %v", m)
			}
			for _, r := range n.Resources {
				off := strings.HasPrefix(r.ID, "execute[/etc/mesos-") || slices.Contains([]string{"package[epel-release]", "package[python-setuptools]",
					"remote_file[/var/lib/mesos/executors/docker]", "remote_file[/var/chef/cache/mesos.egg]", "bash[install-mesos-egg]",
					"bash[config docker containerizer for mesos]"}, r.ID)
				if off && r.Action != "nothing" {
					t.Errorf("%s still runs (action %q)", r.ID, r.Action)
				}
				for _, nt := range r.Notifications {
					if r.Cookbook != "mesos" && (strings.Contains(nt[1], "restart-mesos") || strings.HasPrefix(nt[1], "link[") || nt[1] == "service[docker]") {
						t.Errorf("%s notifies %v on a first run", r.ID, nt)
					}
				}
			}
			if !slices.Contains(n.Included, "hadoop_common::add_repo") {
				t.Error("the haproxy recipe does not add the distro repos")
			}
			// master declares its hosts; the slave groups' are looked up.
			if slices.Contains(n.Searches, "master") || !slices.Contains(n.Searches, "bulk") {
				t.Errorf("searched groups %v", n.Searches)
			}
		})
	}
}

// On a slave that registered before, changed or removed attributes delete
// the checkpointed slave info at once and restart the slave at the end of
// the run; a changed flag file restarts it.
func TestRecipesRegisteredSlave(t *testing.T) {
	p := examplePlan(t)
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	root := t.TempDir()
	for _, d := range []string{"tmp/mesos/meta/slaves", "etc/mesos-slave/attributes"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("S0", filepath.Join(root, "tmp/mesos/meta/slaves/latest")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"etc/mesos-slave/attributes/stale", "etc/mesos-slave/isolation"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := converge(t, p, cb, "mesos01", "bulk", root)
	link := "link[/tmp/mesos/meta/slaves/latest]"
	want := map[string][][]string{
		"template[/etc/mesos-slave/attributes/rack]":            {{"delete", link, "immediately"}, {"run", "bash[restart-mesos-slave]", "delayed"}},
		"template[/etc/mesos-slave/attributes/storage_profile]": {{"delete", link, "immediately"}, {"run", "bash[restart-mesos-slave]", "delayed"}},
		"file[/etc/mesos-slave/attributes/stale]":               {{"delete", link, "immediately"}, {"run", "bash[restart-mesos-slave]", "delayed"}},
		"template[/etc/mesos-slave/isolation]":                  {{"run", "bash[restart-mesos-slave]", "delayed"}},
		"template[/etc/mesos-slave/work_dir]":                   nil,
	}
	found := map[string]bool{}
	for _, r := range n.Resources {
		w, ok := want[r.ID]
		if !ok {
			continue
		}
		found[r.ID] = true
		if fmt.Sprint(r.Notifications) != fmt.Sprint(w) {
			t.Errorf("%s notifies %v, want %v", r.ID, r.Notifications, w)
		}
		if r.ID == "file[/etc/mesos-slave/attributes/stale]" && r.Action != "delete" {
			t.Errorf("the stale attribute is not deleted: %q", r.Action)
		}
	}
	if len(found) != len(want) {
		t.Errorf("resources found %v", found)
	}
}

// indexedRounds lists, per search, the first counts[k] facet indexes of a
// group counted from its last node (the search indexes nodes in any order).
func indexedRounds(instances int, counts ...int) [][]int {
	var out [][]int
	for _, c := range counts {
		r := []int{}
		for i := instances - 1; i >= instances-c; i-- {
			r = append(r, i)
		}
		out = append(out, r)
	}
	return out
}

// On the first converge the Chef search may have indexed only some nodes of
// a group. The recipes wait (bounded) for every instance, so the ZooKeeper
// ensemble, the marathons list and the HAProxy servers are complete: the
// compiler's files, with the nodes at their facet_index. A group whose
// nodes never all appear fails the run with a message naming it.
func TestRecipesWaitForEveryNode(t *testing.T) {
	// Without declared hosts, the masters (the ZooKeeper ensemble) are
	// looked up too.
	text := exampleHCL(t)
	hostsLine := regexp.MustCompile(`(?m)^\s*hosts\s*=\s*\["master-1.*\n`)
	if !hostsLine.MatchString(text) {
		t.Fatal("the example no longer declares the masters' hosts")
	}
	p, diags, _ := compileText(t, hostsLine.ReplaceAllString(text, ""), exampleFacts())
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("does not compile:%s", diagText(errs))
	}
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	partial := map[string][][]int{
		"master": indexedRounds(3, 1, 2, 2, 3),
		"fast":   indexedRounds(5, 0, 4, 5),
		"bulk":   indexedRounds(10, 2, 7, 9, 10),
	}
	for _, g := range []string{"master", "bulk"} {
		t.Run(g, func(t *testing.T) {
			n, stderr, err := convergeIndexed(t, p, cb, "mesos01", g, t.TempDir(), partial, nil)
			if err != nil {
				t.Fatalf("converge: %v\n%s", err, stderr)
			}
			want := map[string]string{
				"/etc/mesos/zk":                          "clusters/mesos01/nodes/" + g + "/etc/mesos/zk",
				"/etc/haproxy/haproxy.cfg":               "clusters/mesos01/haproxy/haproxy.cfg",
				"/etc/haproxy-marathon-bridge/marathons": "clusters/mesos01/haproxy/marathons",
			}
			for node, plan := range want {
				if got, wantData := n.Files[node], string(planFile(t, p, plan).Data); got != wantData {
					t.Errorf("%s:\n%s\nwant\n%s", node, got, wantData)
				}
			}
			for grp, rounds := range partial {
				if n.Polls[grp] < len(rounds) {
					t.Errorf("group %s searched %d times; its nodes are all indexed only at search %d", grp, n.Polls[grp], len(rounds))
				}
			}
		})
	}
	for _, tc := range []struct {
		name    string
		indexed [][]int
		noFQDN  []int
		says    string
	}{
		{"never all indexed", indexedRounds(10, 3, 9), nil, "the Chef search did not return the 10 nodes of node group bulk of cluster mesos01"},
		{"a node missing", [][]int{{0, 1, 2, 4, 5, 6, 7, 8, 9, 10}}, nil, "node group bulk of cluster mesos01 has 10 nodes, the Chef search found facet_index 0, 1, 2, 4, 5, 6, 7, 8, 9, 10; missing 3"},
		{"a node without FQDN", indexedRounds(10, 10), []int{6}, "node 6 of node group bulk of cluster mesos01 has no FQDN on the management network yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := convergeIndexed(t, p, cb, "mesos01", "fast", t.TempDir(), map[string][][]int{"bulk": tc.indexed}, map[string][]int{"bulk": tc.noFQDN})
			if err == nil {
				t.Fatal("the run succeeded with host lists it cannot complete")
			}
			if !strings.Contains(stderr, tc.says) {
				t.Fatalf("the error does not say %q:\n%s", tc.says, stderr)
			}
		})
	}
}
