package compiler

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// simulateGroup converges one node of a group on a scratch root and judges
// it; it returns the faults found. mutate, when set, changes the steps
// before they are replayed (to show what the judges catch).
func simulateGroup(t *testing.T, judgesDir string, site simSite, p *Plan, group string, mutate func([]simStep) []simStep) []string {
	t.Helper()
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	steps := convergeSteps(t, p, cb, group, filepath.Join(judgesDir, "serengeti-pantry/cookbooks/mesos/templates/default"))
	if mutate != nil {
		steps = mutate(steps)
	}
	n := newSimNode(t, filepath.Join(inputsDir, "rpms", "mesos-"+site.mesos))
	n.replay(steps)
	return judgeNode(t, judgesDir, site, p, group, n)
}

// judgeNode judges a converged node of group: nothing shadowed, every init
// job's program installed, the real wrapper's command line for each daemon
// accepted by stout's rules for site.mesos and carrying the definition's
// quorum, ZooKeeper URL and attributes. It returns the faults found.
func judgeNode(t *testing.T, judgesDir string, site simSite, p *Plan, group string, n *simNode) []string {
	t.Helper()
	n.leftovers()
	jobs := n.checkInitJobs()

	var g *NodeGroupPlan
	var cp *ClusterPlan
	for _, c := range p.Clusters {
		for _, x := range c.NodeGroups {
			if x.Name == group {
				g, cp = x, c
			}
		}
	}
	if g == nil {
		t.Fatalf("no group %s", group)
	}
	masters := 0
	for _, x := range cp.NodeGroups {
		if slices.Contains(x.Roles, "mesos_master") {
			masters += x.Instances
		}
	}
	wrapperSrc := filepath.Join(judgesDir, "mesos-deb-packaging", wrapperRevision[site.mesos], "mesos-init-wrapper")
	wsrc, err := os.ReadFile(wrapperSrc)
	if err != nil {
		t.Fatal(err)
	}
	reads := wrapperVarsRead(t, string(wsrc))
	for _, d := range MesosDaemons {
		if !slices.Contains(g.Roles, "mesos_"+d) {
			continue
		}
		job := "mesos-" + d + ".conf"
		b, _ := os.ReadFile(filepath.Join(n.root, "etc/init", job))
		prog, args := execPath(string(b))
		if !strings.HasSuffix(prog, "/mesos-init-wrapper") || !slices.Equal(args, []string{d}) || !strings.Contains(string(b), "start on runlevel") {
			n.faultf("/etc/init/%s does not start mesos-init-wrapper %s:\n%s", job, d, b)
			continue
		}
		// The daemon the real wrapper of this revision execs.
		m := regexp.MustCompile(`logged (/\S+/mesos-` + d + `) `).FindStringSubmatch(string(wsrc))
		if m == nil {
			t.Fatalf("%s: no logged .../mesos-%s", wrapperSrc, d)
		}
		argv := n.runWrapper(wrapperSrc, d, m[1])
		if argv == nil {
			continue
		}
		flags := readFlagList(t, filepath.Join(judgesDir, "mesos-flags", site.mesos, d+".flags"))
		vals, errs := stout(argv, flags)
		for _, e := range errs {
			n.faultf("mesos-%s exits: %s (command line %q)", d, e, argv)
		}
		zk, _ := os.ReadFile(filepath.Join(n.root, "etc/mesos/zk"))
		want := map[string]string{"log_dir": mesosLogs, "logging_level": mesosLoggingLevel}
		if d == "master" {
			want["quorum"] = strconv.Itoa(masters/2 + 1)
			want["zk"] = strings.TrimSpace(string(zk))
			want["cluster"] = cp.Name
			want["work_dir"] = mesosMasterWorkDir
		} else {
			want["master"] = strings.TrimSpace(string(zk))
			want["isolation"] = mesosIsolation
			if slices.Contains(g.Roles, "mesos_docker") {
				want["isolation"] = dockerIsolation
				want["containerizers"] = "docker,mesos"
			}
			var attrs []string
			for k, v := range g.Attributes {
				attrs = append(attrs, k+":"+v)
			}
			if g.StorageProfile != "" {
				attrs = append(attrs, "storage_profile:"+g.StorageProfile)
			}
			slices.Sort(attrs)
			got := strings.Split(vals["attributes"], ";")
			slices.Sort(got)
			if !slices.Equal(got, attrs) {
				n.faultf("mesos-slave --attributes=%q, the definition says %q", vals["attributes"], attrs)
			}
		}
		for k, v := range want {
			if vals[k] != v {
				n.faultf("mesos-%s --%s=%q, want %q", d, k, vals[k], v)
			}
		}
		if !strings.HasPrefix(vals["zk"]+vals["master"], "zk://") {
			n.faultf("mesos-%s gets no zk:// URL: %q", d, argv)
		}
	}
	// Every variable of the /etc/default files the bundle writes is read
	// by the wrapper for a daemon the node runs.
	for _, f := range []string{"mesos", "mesos-master", "mesos-slave"} {
		b, err := os.ReadFile(filepath.Join(n.root, "etc/default", f))
		if err != nil || !n.bundle["/etc/default/"+f] {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			name, _, ok := strings.Cut(strings.TrimSpace(l), "=")
			if !ok {
				continue
			}
			read := false
			for _, d := range MesosDaemons {
				if slices.Contains(g.Roles, "mesos_"+d) && (f == "mesos" || f == "mesos-"+d) {
					read = read || reads[d][name]
				}
			}
			if !read {
				n.faultf("/etc/default/%s sets %s, which mesos-init-wrapper never reads on this node", f, name)
			}
		}
	}
	if isMesos := slices.ContainsFunc(g.Roles, func(r string) bool { return r == "mesos_master" || r == "mesos_slave" }); isMesos {
		for _, r := range []struct{ role, job string }{{"mesos_marathon", "marathon.conf"}, {"mesos_chronos", "chronos.conf"}} {
			if slices.Contains(g.Roles, r.role) && jobs[r.job] == "" {
				n.faultf("no /etc/init/%s on a %s node", r.job, r.role)
			}
		}
	}
	return n.faults
}

// checkChefJSON checks that every node['mesos'] attribute of
// clusters/<c>/chef/<group>.json is one serengeti-pantry's mesos cookbook
// reads.
func checkChefJSON(t *testing.T, judgesDir string, p *Plan) {
	t.Helper()
	var src strings.Builder
	for _, dir := range []string{"recipes", "templates/default", "attributes", "libraries"} {
		m, _ := filepath.Glob(filepath.Join(judgesDir, "serengeti-pantry/cookbooks/mesos", dir, "*"))
		for _, f := range m {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	for _, f := range p.Files {
		if !strings.Contains(f.Path, "/chef/") || !strings.HasPrefix(f.Path, "clusters/") {
			continue
		}
		var j map[string]map[string]any
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(f.Data, &raw); err != nil {
			t.Fatal(err)
		}
		for k := range raw {
			if k != "run_list" && k != "mesos" {
				t.Errorf("%s sets %s, which no cookbook of the node reads", f.Path, k)
			}
		}
		_ = json.Unmarshal(f.Data, &j)
		for _, k := range slices.Sorted(maps.Keys(j["mesos"])) {
			if !strings.Contains(src.String(), "['mesos']['"+k+"']") {
				t.Errorf("%s sets mesos.%s, which serengeti-pantry's mesos cookbook never reads", f.Path, k)
			}
		}
	}
}

func simSites(t *testing.T) []simSite {
	return []simSite{{"example", exampleHCL(t), "0.22.0"}, {"mesos-0.21", previousSite(t), "0.21.0"}}
}

// A node's first converge, simulated with real parts, for every node group
// of the example (Mesos 0.22.0) and of a Mesos 0.21.0 site with other
// roles: the bundle's RPMs installed with real rpm --root in the order the
// recipes install them, the cookbook's writes applied in run-list order,
// the real mesos-init-wrapper of the packages' revision run, its command
// line judged by stout's rules against the release's flag list; every init
// job's program is installed, nothing the bundle wrote is shadowed, and
// the quorum and attributes are the definition's.
func TestNodeFirstConverge(t *testing.T) {
	j := judges(t)
	for _, site := range simSites(t) {
		t.Run(site.name, func(t *testing.T) {
			p, diags := compileFacts(t, site.text, nil)
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("the site does not compile:%s", diagText(errs))
			}
			checkChefJSON(t, j, p)
			for _, g := range p.Clusters[0].NodeGroups {
				t.Run(g.Name, func(t *testing.T) {
					for _, f := range simulateGroup(t, j, site, p, g.Name, nil) {
						t.Error(f)
					}
				})
			}
		})
	}
}

// The judges catch what issue 22 found on a node: configuration written
// before the package is installed is shadowed (.rpmnew becomes an unknown
// flag), an ISOLATION variable besides the isolation file is a duplicate
// flag, a flag the release lacks stops the daemon, and an init job whose
// program is not installed fails.
func TestNodeJudgesCatch(t *testing.T) {
	j := judges(t)
	site := simSites(t)[0]
	p, diags := compileFacts(t, site.text, nil)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("the site does not compile:%s", diagText(errs))
	}
	// before_mesos' writes ahead of the package installs (the old order).
	writesFirst := func(steps []simStep) []simStep {
		var writes, rest []simStep
		for _, s := range steps {
			if s.Op != "package" && s.Cookbook == CookbookName(p.Name) && strings.HasPrefix(s.Path, "/etc/mesos-") || s.Op == "mkdir" {
				writes = append(writes, s)
			} else {
				rest = append(rest, s)
			}
		}
		return append(writes, rest...)
	}
	appendTo := func(path, text string) func([]simStep) []simStep {
		return func(steps []simStep) []simStep {
			for i := len(steps) - 1; i >= 0; i-- {
				if steps[i].Op == "write" && steps[i].Path == path {
					c := *steps[i].Content + text
					steps[i].Content = &c
					return steps
				}
			}
			t.Fatalf("no write of %s", path)
			return nil
		}
	}
	rewrite := func(path, old, new string) func([]simStep) []simStep {
		return func(steps []simStep) []simStep {
			for i := range steps {
				if steps[i].Op == "write" && steps[i].Path == path && steps[i].Content != nil {
					c := strings.ReplaceAll(*steps[i].Content, old, new)
					steps[i].Content = &c
				}
			}
			return steps
		}
	}
	for _, tc := range []struct {
		name, group string
		mutate      func([]simStep) []simStep
		want        string
	}{
		{"written before install", "master", writesFirst, "Failed to load unknown flag 'quorum.rpmnew'"},
		{"ISOLATION and the isolation file", "bulk", appendTo("/etc/default/mesos-slave", "ISOLATION=\"cgroups/cpu,cgroups/mem\"\n"), "Duplicate flag 'isolation'"},
		{"dead setting", "bulk", appendTo("/etc/default/mesos-slave", "CHECKPOINT=\"true\"\n"), "sets CHECKPOINT, which mesos-init-wrapper never reads"},
		{"flag 0.22 removed", "bulk", func(steps []simStep) []simStep {
			c := "true\n"
			return append(steps, simStep{Op: "write", Path: "/etc/mesos-slave/checkpoint", Content: &c})
		}, "Failed to load unknown flag 'checkpoint'"},
		{"Chronos in /usr/bin", "master", rewrite("/etc/init/chronos.conf", "/usr/local/bin/chronos", "/usr/bin/chronos"), `/etc/init/chronos.conf execs "/usr/bin/chronos", which is not an installed program`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			faults := simulateGroup(t, j, site, p, tc.group, tc.mutate)
			if !slices.ContainsFunc(faults, func(f string) bool { return strings.Contains(f, tc.want) }) {
				t.Errorf("the judges did not report %q; faults: %q", tc.want, faults)
			}
		})
	}
}

// The compiler's flag lists are the judges' (apache/mesos 0.21.0, 0.22.0).
func TestMesosFlagListsMatchJudges(t *testing.T) {
	j := judges(t)
	for _, v := range []string{"0.21.0", "0.22.0"} {
		for _, d := range MesosDaemons {
			want := readFlagList(t, filepath.Join(j, "mesos-flags", v, d+".flags"))
			got, rel, ok := MesosFlags(v, d)
			if !ok || rel != v || !maps.Equal(got, want) {
				t.Errorf("mesos-%s %s: the compiler's flags differ from the judges' list", d, v)
			}
		}
	}
}
