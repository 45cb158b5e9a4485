package compiler

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// expandRunList expands a node's run list as Chef does: roles into their
// run lists, depth first, each recipe kept where it first appears. Bundle
// roles come from the plan, BDE's from serengeti-pantry's roles/*.rb.
func expandRunList(t *testing.T, p *Plan, pantryRoles string, entries []string, seen map[string]bool, out *[]string) {
	t.Helper()
	for _, e := range entries {
		role, isRole := strings.CutPrefix(e, "role[")
		if !isRole {
			r := strings.TrimSuffix(strings.TrimPrefix(e, "recipe["), "]")
			if !strings.Contains(r, "::") {
				r += "::default"
			}
			if !seen[r] {
				seen[r] = true
				*out = append(*out, r)
			}
			continue
		}
		role = strings.TrimSuffix(role, "]")
		if seen["role:"+role] {
			continue
		}
		seen["role:"+role] = true
		var list []string
		if f := planFileOrNil(p, RolesDir+role+".json"); f != nil {
			var r struct {
				RunList []string `json:"run_list"`
			}
			if err := json.Unmarshal(f.Data, &r); err != nil {
				t.Fatal(err)
			}
			list = r.RunList
		} else {
			b, err := os.ReadFile(filepath.Join(pantryRoles, role+".rb"))
			if err != nil {
				t.Fatalf("role %s is neither the bundle's nor BDE's: %v", role, err)
			}
			m := regexp.MustCompile(`run_list \*%w\[([^\]]*(?:\][^\]]*)*?)\n\]`).FindSubmatch(b)
			if m == nil {
				t.Fatalf("%s: no run_list", role)
			}
			list = strings.Fields(string(m[1]))
		}
		expandRunList(t, p, pantryRoles, list, seen, out)
	}
}

func planFileOrNil(p *Plan, path string) *File {
	for _, f := range p.Files {
		if f.Path == path {
			return f
		}
	}
	return nil
}

// On every node, BDE's error handler (hadoop_common::pre_run, in
// role[basic]) is registered before any recipe of the bundle runs; the
// packages are installed before the configuration is written, and that
// before the mesos recipes start Mesos.
func TestRunListOrder(t *testing.T) {
	j := judges(t)
	for _, site := range simSites(t) {
		p, diags := compileFacts(t, site.text, nil)
		if errs := errorsOf(diags); len(errs) > 0 {
			t.Fatalf("%s does not compile:%s", site.name, diagText(errs))
		}
		cb := CookbookName(p.Name)
		var spec clusterSpec
		if err := json.Unmarshal(planFile(t, p, "clusters/mesos01/spec.json").Data, &spec); err != nil {
			t.Fatal(err)
		}
		for _, g := range spec.NodeGroups {
			var entries, recipes []string
			for _, r := range g.Roles {
				entries = append(entries, "role["+r+"]")
			}
			expandRunList(t, p, filepath.Join(j, "serengeti-pantry/roles"), entries, map[string]bool{}, &recipes)
			at := func(r string) int { return slices.Index(recipes, r) }
			order := []string{"hadoop_common::pre_run", cb + "::install", cb + "::before_mesos", "mesos::master", "mesos::slave", cb + "::after_mesos", cb + "::haproxy"}
			last, lastName := -1, ""
			for _, r := range order {
				i := at(r)
				if i < 0 {
					continue
				}
				if i < last {
					t.Errorf("%s/%s: %s runs before %s: %v", site.name, g.Name, r, lastName, recipes)
				}
				last, lastName = i, r
			}
			// zookeeper::default includes pre_run itself (bde-chef.md §3).
			handler := at("hadoop_common::pre_run")
			if z := at("zookeeper::default"); z >= 0 && (handler < 0 || z < handler) {
				handler = z
			}
			for i, r := range recipes {
				if strings.HasPrefix(r, cb+"::") && (handler < 0 || i < handler) {
					t.Errorf("%s/%s: %s runs before BDE's error handler is registered: %v", site.name, g.Name, r, recipes)
				}
			}
		}
	}
}

// The install recipe brings a node to exactly the bundle's versions from
// whatever is installed: a 0.21.0 node is upgraded by the example's
// converge, a 0.22.0 node downgraded by the 0.21.0 site's.
func TestNodeExactVersions(t *testing.T) {
	j := judges(t)
	sites := simSites(t)
	for _, tc := range []struct {
		site             simSite
		group, installed string
		want             map[string]string
	}{
		{sites[0], "master", "0.21.0", map[string]string{"mesos": "0.22.0-1.0.centos65", "marathon": "0.8.0-1.0.146.el6"}},
		{sites[1], "ctl", "0.22.0", map[string]string{"mesos": "0.21.0-1.0.centos65", "marathon": "0.7.5-1.0.el6"}},
	} {
		t.Run(tc.site.name, func(t *testing.T) {
			p, diags := compileFacts(t, tc.site.text, nil)
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("the site does not compile:%s", diagText(errs))
			}
			cb := writePlanFiles(t, p, cookbookPrefix(p))
			steps := convergeSteps(t, p, cb, tc.group, filepath.Join(j, "serengeti-pantry/cookbooks/mesos/templates/default"))
			n := newSimNode(t, filepath.Join(inputsDir, "rpms", "mesos-"+tc.installed), filepath.Join(inputsDir, "rpms", "mesos-"+tc.site.mesos))
			for name, vr := range map[string]string{"mesos": tc.installed + "-1.0.centos65", "marathon": map[string]string{"0.21.0": "0.7.5-1.0.el6", "0.22.0": "0.8.0-1.0.146.el6"}[tc.installed]} {
				n.install(name, vr, "x86_64")
			}
			n.replay(steps)
			for _, f := range n.faults {
				t.Error(f)
			}
			for name, vr := range tc.want {
				out, err := n.rpm("-q", "--qf", "%{VERSION}-%{RELEASE}", name)
				if err != nil || out != vr {
					t.Errorf("%s installed: %q (%v), want %s", name, out, err, vr)
				}
			}
		})
	}
}

// releaseOne is the example as release 1 had it: cluster mesos01 on Mesos
// 0.21.0 and Marathon 0.7.5 (distro mesos-previous: the same groups, the
// older packages), before any upgrade block named it as running.
func releaseOne(t *testing.T) string {
	t.Helper()
	text := exampleHCL(t)
	for _, r := range []struct{ old, new string }{
		{"distro   = distro.mesos\n  marathon = \"0.8.0\"", "distro   = distro.mesos-previous\n  marathon = \"0.7.5\""},
		{"  running {\n    distro  = \"mesos\"\n    version = \"0.21.0\"\n  }\n", ""},
	} {
		if !strings.Contains(text, r.old) {
			t.Fatalf("the example's cluster mesos01 no longer has %q", r.old)
		}
		text = strings.Replace(text, r.old, r.new, 1)
	}
	return text
}

// A node upgraded from release 1 (Mesos 0.21.0, Marathon 0.7.5) to release
// 2 (the example: 0.22.0, 0.8.0) on one scratch root, with the real rpm -U:
// the first converge restarts nothing and waits for nothing; the second
// brings every package to release 2's version, notifies the restart of
// each daemon whose package changed, on a slave waits for a master on
// 0.22.0 before its Mesos package changes, and leaves a command line that
// the real 0.22.0 wrapper and stout's rules for 0.22.0 accept (no
// --checkpoint, nothing shadowed).
func TestNodeUpgrade(t *testing.T) {
	j := judges(t)
	pantry := filepath.Join(j, "serengeti-pantry/cookbooks/mesos/templates/default")
	p1, diags := compileFacts(t, releaseOne(t), nil)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("release 1 does not compile:%s", diagText(errs))
	}
	site := simSites(t)[0]
	p2, diags := compileFacts(t, site.text, nil)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("release 2 does not compile:%s", diagText(errs))
	}
	cb1, cb2 := writePlanFiles(t, p1, cookbookPrefix(p1)), writePlanFiles(t, p2, cookbookPrefix(p2))
	for _, tc := range []struct {
		group    string
		restarts map[string][]string // package -> restarts notified
		wait     bool
		want     map[string]string
	}{
		{"master", map[string][]string{
			"mesos": {"bash[restart-mesos-master]"}, "marathon": {"bash[restart-marathon]"}},
			false, map[string]string{"mesos": "0.22.0-1.0.centos65", "marathon": "0.8.0-1.0.146.el6"}},
		{"fast", map[string][]string{"mesos": {"bash[restart-mesos-slave]"}}, true, map[string]string{"mesos": "0.22.0-1.0.centos65"}},
		{"bulk", map[string][]string{"mesos": {"bash[restart-mesos-slave]"}}, true, map[string]string{"mesos": "0.22.0-1.0.centos65"}},
	} {
		t.Run(tc.group, func(t *testing.T) {
			n := newSimNode(t, filepath.Join(inputsDir, "rpms", "mesos-0.21.0"), filepath.Join(inputsDir, "rpms", "mesos-0.22.0"))
			// The restarts the run's updated package resources notify.
			notified := func(r simRun) map[string][]string {
				out := map[string][]string{}
				for _, res := range r.Resources {
					name, ok := strings.CutPrefix(res.ID, "yum_package[")
					if !ok || !n.updated[strings.TrimSuffix(name, "]")] {
						continue
					}
					for _, nt := range res.Notifications {
						if nt[0] != "run" || nt[2] != "delayed" {
							t.Errorf("%s notifies %q", res.ID, nt)
						}
						out[strings.TrimSuffix(name, "]")] = append(out[strings.TrimSuffix(name, "]")], nt[1])
					}
				}
				return out
			}
			waits := func(r simRun) bool {
				block, pkg := -1, -1
				for i, s := range r.Steps {
					if s.Op == "ruby_block" && strings.Contains(s.Name, "Mesos master on 0.22.0") {
						block = i
					}
					if s.Op == "package" && s.Name == "mesos" && pkg < 0 {
						pkg = i
					}
				}
				if block > pkg {
					t.Errorf("the wait for a master comes after the mesos package")
				}
				return block >= 0
			}

			first := convergeAt(t, p1, cb1, tc.group, pantry, n.root)
			if waits(first) {
				t.Error("release 1's first converge waits for a master")
			}
			n.replay(first.Steps)
			if len(n.updated) == 0 {
				t.Error("release 1's first converge installs nothing")
			}
			if got := notified(first); len(got) > 0 {
				t.Errorf("release 1's first converge notifies restarts: %v", got)
			}
			n.updated = nil
			if faults := judgeNode(t, j, simSite{"release 1", "", "0.21.0"}, p1, tc.group, n); len(faults) > 0 {
				t.Fatalf("release 1 does not run: %q", faults)
			}

			second := convergeAt(t, p2, cb2, tc.group, pantry, n.root)
			if got := waits(second); got != tc.wait {
				t.Errorf("release 2's converge waits for a master: %v, want %v", got, tc.wait)
			}
			n.replay(second.Steps)
			if got := notified(second); !maps.EqualFunc(got, tc.restarts, slices.Equal) {
				t.Errorf("release 2's converge restarts %v, want %v", got, tc.restarts)
			}
			for _, f := range judgeNode(t, j, site, p2, tc.group, n) {
				t.Error(f)
			}
			for name, vr := range tc.want {
				out, err := n.rpm("-q", "--qf", "%{VERSION}-%{RELEASE}", name)
				if err != nil || out != vr {
					t.Errorf("%s installed: %q (%v), want %s", name, out, err, vr)
				}
			}
		})
	}
}
