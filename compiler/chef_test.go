package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// needTool fails the test when a real tool it runs is missing.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed by this test (apt-get install %s): %v", name, pkg, err)
	}
	return bin
}

// writePlanFiles writes the plan's files below prefix into a new directory
// and returns it.
func writePlanFiles(t testing.TB, p *Plan, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	n := 0
	for _, f := range p.Files {
		rel, ok := strings.CutPrefix(f.Path, prefix)
		if !ok {
			continue
		}
		n++
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatalf("the plan has no file under %s", prefix)
	}
	return dir
}

func planFile(t testing.TB, p *Plan, path string) *File {
	t.Helper()
	for _, f := range p.Files {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("the plan has no %s", path)
	return nil
}

func cookbookPrefix(p *Plan) string { return CookbooksDir + CookbookName(p.Name) + "/" }

// ruby19Result is what testdata/ruby/ruby19_check.rb prints.
type ruby19Result struct {
	RB     int                 `json:"rb"`
	ERB    int                 `json:"erb"`
	Errors map[string][]string `json:"errors"`
}

// ruby19Check reads files with the Ruby 1.9 grammar (.rb) or compiles them
// with Erubis and reads the result with it (.erb).
func ruby19Check(t *testing.T, files ...string) ruby19Result {
	t.Helper()
	ruby := needTool(t, "ruby", "ruby")
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "ruby19_check.rb")
	cmd := exec.Command(ruby, append([]string{script}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s (needs ruby-whitequark-parser and ruby-erubis): %v\n%s", script, err, stderr.String())
	}
	var r ruby19Result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
	return r
}

// Every .rb of the cookbook parses with the Ruby 1.9 grammar Chef 11 runs
// (and is ASCII or declares its encoding); every .erb compiles with Erubis,
// Chef 11's template engine, to Ruby the 1.9 grammar parses.
func TestCookbookRuby19(t *testing.T) {
	p := examplePlan(t)
	dir := writePlanFiles(t, p, cookbookPrefix(p))
	var files []string
	err := filepath.WalkDir(dir, func(fp string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (filepath.Ext(fp) == ".rb" || filepath.Ext(fp) == ".erb") {
			files = append(files, fp)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := ruby19Check(t, files...)
	for f, errs := range r.Errors {
		rel, _ := filepath.Rel(dir, f)
		t.Errorf("%s:\n%s", rel, strings.Join(errs, "\n"))
	}
	if r.RB < 5 || r.ERB < 4 || r.RB+r.ERB != len(files) {
		t.Fatalf("only %d .rb and %d .erb of %d files checked", r.RB, r.ERB, len(files))
	}
}

// The Ruby 1.9 check refuses what Ruby 1.9.3 refuses and Ruby 2 and later
// accept, and accepts the 1.9 syntax the cookbook uses.
func TestRuby19CheckRefusesNewerRuby(t *testing.T) {
	dir := t.TempDir()
	var files []string
	want, names := map[string]bool{}, map[string]string{}
	for _, tc := range []struct {
		name, file, src string
		ok              bool
	}{
		{"1.9 hash and lambda", "a.rb", "variables(a: 1, 'b' => [2])\nf = ->(x) { x }\nsupports status: true\n", true},
		{"erb with a block", "a.erb", "<%= @l.map { |x| \"#{x['n']}\\n\" }.join %>", true},
		{"encoding comment", "a.rb", "# encoding: utf-8\nx = 'caf\u00e9'\n", true},
		{"symbol array", "a.rb", "x = %i[a b]\n", false},
		{"keyword argument", "a.rb", "def f(a:, b: 1)\n  a\nend\n", false},
		{"double splat", "a.rb", "def f(**o)\n  o\nend\n", false},
		{"safe navigation", "a.rb", "x = node&.name\n", false},
		{"squiggly heredoc", "a.rb", "x = <<~EOS\n  a\nEOS\n", false},
		{"string symbol key", "a.rb", "h = { \"a\": 1 }\n", false},
		{"safe navigation in erb", "a.erb", "<%= @a&.b %>\n", false},
		{"unclosed erb code", "a.erb", "<%= @a.map { |x| x %>\n", false},
		{"non-ASCII without encoding comment", "a.rb", "x = 'caf\u00e9'\n", false},
	} {
		fp := filepath.Join(dir, fmt.Sprintf("case%02d-%s", len(files), tc.file))
		if err := os.WriteFile(fp, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, fp)
		want[fp] = tc.ok
		names[fp] = tc.name
	}
	r := ruby19Check(t, files...)
	if r.RB+r.ERB != len(files) {
		t.Fatalf("%d of %d files checked", r.RB+r.ERB, len(files))
	}
	for _, fp := range files {
		if errs := r.Errors[fp]; (len(errs) == 0) != want[fp] {
			t.Errorf("%s: accepted = %v, want %v: %v", names[fp], len(errs) == 0, want[fp], errs)
		}
	}
}

type renderedCookbook struct {
	Data      map[string]any            `json:"data"`
	Overrides map[string]map[string]any `json:"overrides"`
	Files     map[string]string         `json:"files"`
}

func renderCookbook(t *testing.T, p *Plan) renderedCookbook {
	t.Helper()
	ruby := needTool(t, "ruby", "ruby")
	dir := writePlanFiles(t, p, cookbookPrefix(p))
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "render_cookbook.rb")
	out, err := exec.Command(ruby, script, dir, CookbookName(p.Name)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("rendering the cookbook with Ruby: %v\n%s", err, stderr)
	}
	var r renderedCookbook
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("the Ruby renderer's output: %v", err)
	}
	return r
}

// Each template, rendered by Erubis (Chef 11's engine) with the variables its recipe
// passes (the library's, with the planned hosts), equals byte for byte the
// file the compiler renders; and the cookbook writes every file the
// compiler renders for a node.
func TestCookbookRendersCompilerFiles(t *testing.T) {
	p := examplePlan(t)
	r := renderCookbook(t, p)
	for path, got := range r.Files {
		f := planFile(t, p, path)
		if got != string(f.Data) {
			t.Errorf("%s: the cookbook renders\n%q\nthe compiler\n%q", path, got, f.Data)
		}
	}
	for _, f := range p.Files {
		covered := strings.Contains(f.Path, "/nodes/") || path.Base(f.Path) == "haproxy.cfg" || path.Base(f.Path) == "marathons"
		if strings.HasPrefix(f.Path, "clusters/") && covered {
			if _, ok := r.Files[f.Path]; !ok {
				t.Errorf("%s is rendered but the cookbook does not write it", f.Path)
			}
		}
	}
	cb := cookbookPrefix(p)
	for _, cl := range p.Clusters {
		want := planFile(t, p, "clusters/"+cl.Name+"/haproxy/haproxy-marathon-bridge")
		if got := planFile(t, p, cb+"files/default/"+cl.Name+"/haproxy-marathon-bridge"); !bytes.Equal(got.Data, want.Data) || got.Sensitive != want.Sensitive {
			t.Errorf("the cookbook's bridge of %s differs from clusters/%s/haproxy/haproxy-marathon-bridge", cl.Name, cl.Name)
		}
		cron := planFile(t, p, "clusters/"+cl.Name+"/haproxy/cron.d/haproxy-marathon-bridge")
		if got := planFile(t, p, cb+"files/default/haproxy-marathon-bridge.cron"); !bytes.Equal(got.Data, cron.Data) {
			t.Errorf("the cookbook's cron.d file differs from the cluster's")
		}
	}
	if !planFile(t, p, cb+"attributes/default.rb").Sensitive {
		t.Error("attributes/default.rb holds the stats auth but is not sensitive")
	}
}

// The data Ruby reads back from attributes/default.rb is the data the
// compiler meant, and each group's node['mesos'] overrides are its own.
func TestCookbookAttributes(t *testing.T) {
	p := examplePlan(t)
	r := renderCookbook(t, p)
	roundTrip := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var x any
		if err := json.Unmarshal(b, &x); err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(x)
		return string(b)
	}
	cl := r.Data["clusters"].(map[string]any)["mesos01"].(map[string]any)
	groups := cl["groups"].(map[string]any)
	if got := roundTrip(cl["group_order"]); got != `["master","fast","bulk"]` {
		t.Errorf("group order %s", got)
	}
	bulk := groups["bulk"].(map[string]any)
	if got := roundTrip(bulk["attributes"]); got != `{"rack":"r2","storage_profile":"vmax"}` {
		t.Errorf("bulk attributes %s", got)
	}
	if got := roundTrip(cl["zookeeper"]); got != `{"path":"mesos","port":2181}` {
		t.Errorf("zookeeper %s", got)
	}
	// node['mesos'] holds only what the mesos cookbook reads: the slave's
	// /etc/default/mesos-slave is MASTER alone; isolation is a flag file.
	if got := roundTrip(r.Overrides["mesos01/bulk"]["slave"]); got != `{"master":"`+"`cat /etc/mesos/zk`"+`"}` {
		t.Errorf("bulk slave override %s", got)
	}
	if _, ok := r.Overrides["mesos01/bulk"]["isolation"]; ok {
		t.Error("node['mesos']['isolation'] is set: only mesos-slave-env.sh reads it, and nothing reads that file")
	}
	if got := bulk["files"].(map[string]any)["/etc/mesos-slave/isolation"]; got != dockerIsolation+"\n" {
		t.Errorf("bulk isolation flag file %q", got)
	}
	if _, ok := r.Overrides["mesos01/master"]["slave"]; ok {
		t.Error("the master group gets slave overrides")
	}
	if got := r.Overrides["mesos01/master"]["zookeeper_path"]; got != "mesos" {
		t.Errorf("zookeeper_path override %v", got)
	}
	master := groups["master"].(map[string]any)
	if got := master["files"].(map[string]any)["/etc/mesos-master/quorum"]; got != "2\n" {
		t.Errorf("quorum of 3 masters: %q", got)
	}
	if got := master["upstream_files"].(map[string]any)["/etc/init/marathon.conf"].(string); !strings.Contains(got, "exec /usr/bin/marathon\n") {
		t.Errorf("Marathon 0.8 upstart job: %q", got)
	}
}

// rubyLiteral's output, read by Ruby, is the value it was given.
func TestRubyLiteral(t *testing.T) {
	ruby := needTool(t, "ruby", "ruby")
	hostile := []string{"", `"`, `\`, `\"`, "#{`id`}", "#@x #$0", "'", "a\nb\r\tc\x00", "é ✓ 😀", "\u2028", "end; system('id')", "__END__", "=begin"}
	v := map[string]any{"list": slices.Clone(hostile), "n": 42, "yes": true, "nil": nil, "nested": map[string]any{"#{x}": map[string]string{"\"k": "v\\"}}}
	for _, s := range hostile {
		v[s] = s
	}
	src := "# encoding: us-ascii\nrequire 'json'\nv = " + rubyLiteral(v) + "\nprint JSON.generate(v)\n"
	f := filepath.Join(t.TempDir(), "lit.rb")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// Chef 11's Ruby 1.9 reads the literal too.
	if r := ruby19Check(t, f); len(r.Errors) > 0 {
		t.Fatalf("the Ruby 1.9 grammar refuses the literal: %v\n%s", r.Errors, src)
	}
	out, err := exec.Command(ruby, f).CombinedOutput()
	if err != nil {
		t.Fatalf("ruby: %v\n%s\n%s", err, out, src)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want, _ := json.Marshal(v)
	var w any
	_ = json.Unmarshal(want, &w)
	g, _ := json.Marshal(got)
	w2, _ := json.Marshal(w)
	if !bytes.Equal(g, w2) {
		t.Fatalf("Ruby read back\n%s\nwant\n%s", g, w2)
	}
}

// Roles parse as JSON with the Chef role fields, each runs a recipe of the
// cookbook, and each group's spec roles put them around the mesos roles.
func TestChefRoles(t *testing.T) {
	p := examplePlan(t)
	cb := CookbookName(p.Name)
	roles := map[string]bool{}
	for _, f := range p.Files {
		name, ok := strings.CutPrefix(f.Path, RolesDir)
		if !ok {
			continue
		}
		var r struct {
			Name, Description, JSONClass, ChefType string
			RunList                                []string       `json:"run_list"`
			Default                                map[string]any `json:"default_attributes"`
			Override                               map[string]any `json:"override_attributes"`
			EnvRunLists                            map[string]any `json:"env_run_lists"`
		}
		var raw map[string]any
		if err := json.Unmarshal(f.Data, &raw); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		for _, k := range []string{"name", "description", "json_class", "chef_type", "run_list", "default_attributes", "override_attributes", "env_run_lists"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("%s has no %s", f.Path, k)
			}
		}
		if err := json.Unmarshal(f.Data, &r); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if r.Name+".json" != name || raw["json_class"] != "Chef::Role" || raw["chef_type"] != "role" {
			t.Errorf("%s: name %q, json_class %v, chef_type %v", f.Path, r.Name, raw["json_class"], raw["chef_type"])
		}
		recipes := 0
		for i, e := range r.RunList {
			switch {
			case strings.HasPrefix(e, "recipe["+cb+"::"):
				recipes++
				recipe := strings.TrimSuffix(strings.TrimPrefix(e, "recipe["+cb+"::"), "]")
				planFile(t, p, cookbookPrefix(p)+"recipes/"+recipe+".rb")
			case e == "role[basic]" && i == 0:
			default:
				t.Errorf("%s: run_list entry %q", f.Path, e)
			}
		}
		if recipes == 0 {
			t.Errorf("%s: run_list %v runs no recipe of the cookbook", f.Path, r.RunList)
		}
		// BDE's error handler (hadoop_common::pre_run, in role[basic]) is
		// registered before the first recipe of the bundle runs, and the
		// group's packages are installed before any file is written.
		if strings.HasSuffix(r.Name, "_before_mesos") && !slices.Equal(r.RunList, []string{"role[basic]", "recipe[" + cb + "::install]", "recipe[" + cb + "::before_mesos]"}) {
			t.Errorf("%s: run_list %v, want role[basic], install, before_mesos", f.Path, r.RunList)
		}
		roles[r.Name] = true
	}
	if len(roles) != len(chefRoles) {
		t.Fatalf("roles %v", roles)
	}
	var spec clusterSpec
	if err := json.Unmarshal(planFile(t, p, "clusters/mesos01/spec.json").Data, &spec); err != nil {
		t.Fatal(err)
	}
	for _, g := range spec.NodeGroups {
		first, last := -1, -1
		for i, r := range g.Roles {
			if strings.HasPrefix(r, "mesos_") {
				if first < 0 {
					first = i
				}
				last = i
			} else if r != "zookeeper" && !roles[r] {
				t.Errorf("group %s names role %q, which the bundle does not ship", g.Name, r)
			}
		}
		if g.Roles[0] != cb+"_before_mesos" || g.Roles[last+1] != cb+"_after_mesos" || g.Roles[len(g.Roles)-1] != cb+"_haproxy" || first < 1 {
			t.Errorf("group %s roles %v: want before_mesos first, after_mesos after the mesos roles, haproxy last", g.Name, g.Roles)
		}
	}
	egg, _ := spec.Configuration["mesos"].(map[string]any)["python_egg"].(string)
	if !strings.HasPrefix(egg, "https://bde.localdomain/yum/") {
		t.Errorf("python_egg %q does not point at the management server", egg)
	}
}

// bash -n and shellcheck pass on every shell script the bundle carries, and
// on the files the init scripts source.
func TestShellScripts(t *testing.T) {
	needTool(t, "bash", "bash")
	sc := needTool(t, "shellcheck", "shellcheck")
	p := examplePlan(t)
	n := 0
	for _, f := range p.Files {
		script := bytes.HasPrefix(f.Data, []byte("#!/bin/bash")) || bytes.HasPrefix(f.Data, []byte("#!/bin/sh"))
		sourced := strings.Contains(f.Path, "/etc/default/") || strings.HasSuffix(f.Path, "/etc/sysconfig/docker")
		if !script && !sourced {
			continue
		}
		n++
		fp := filepath.Join(t.TempDir(), path.Base(f.Path))
		if err := os.WriteFile(fp, f.Data, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", fp).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f.Path, err, out)
		}
		args := []string{"-s", "bash"}
		if sourced {
			// Variables for the init scripts, and the mesos cookbook's
			// `cat /etc/mesos/zk` as it writes it.
			args = append(args, "-e", "SC2034,SC2006,SC2148")
		}
		if out, err := exec.Command(sc, append(args, fp)...).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f.Path, err, out)
		}
		if script && f.Mode != 0o755 && !strings.HasPrefix(f.Path, CookbooksDir) {
			t.Errorf("%s is a script of mode %o", f.Path, f.Mode)
		}
	}
	if n < 4 {
		t.Fatalf("only %d shell files checked", n)
	}
}

// The cron.d file is one root cron line running the installed bridge, as
// Mesosphere's install_cronjob writes it, not group/world-writable.
func TestCronFile(t *testing.T) {
	p := examplePlan(t)
	f := planFile(t, p, "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge")
	fields := strings.Fields(string(f.Data))
	if strings.Count(string(f.Data), "\n") != 1 || len(fields) < 8 || strings.Join(fields[:6], " ") != "* * * * * root" || fields[6] != "/usr/local/bin/haproxy-marathon-bridge" {
		t.Fatalf("cron file %q", f.Data)
	}
	if f.Mode&0o022 != 0 {
		t.Fatalf("cron file mode %o", f.Mode)
	}
	recipe := string(planFile(t, p, cookbookPrefix(p)+"recipes/haproxy.rb").Data)
	i := strings.Index(recipe, "cookbook_file '/etc/cron.d/haproxy-marathon-bridge'")
	if i < 0 || !strings.Contains(recipe[i:i+200], "owner 'root'") || !strings.Contains(recipe[i:i+200], "mode '0644'") {
		t.Fatal("the haproxy recipe does not install the cron file root-owned 0644")
	}
}

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

func TestCookbookNameAndVersion(t *testing.T) {
	for in, want := range map[string]string{"mesos": "bundle_mesos", "mesos-site": "bundle_mesos_site", "a.b_c": "bundle_a_b_c"} {
		if got := CookbookName(in); got != want {
			t.Errorf("CookbookName(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct{ version, want, warn string }{
		{"2015.03.1", "2015.3.1", ""},
		{"1.2", "1.2", ""},
		{"2015.03.1-rc1", "0.0.1426032000", "Cookbook version"},
		{"2015.03.1.4", "0.0.1426032000", "Cookbook version"},
	} {
		p, diags, _ := compileText(t, strings.Replace(exampleHCL(t), `version     = "2015.03.1"`, `version     = "`+tc.version+`"`, 1), nil)
		meta := string(planFile(t, p, cookbookPrefix(p)+"metadata.rb").Data)
		if !strings.Contains(meta, "\nversion \""+tc.want+"\"\n") {
			t.Errorf("bundle version %s: metadata.rb\n%s", tc.version, meta)
		}
		warned := false
		for _, d := range diags {
			warned = warned || d.Summary == "Cookbook version"
		}
		if warned != (tc.warn != "") {
			t.Errorf("bundle version %s: warned %v", tc.version, warned)
		}
		if !strings.Contains(meta, "\nname \"bundle_mesos_site\"\n") || !strings.Contains(meta, "\ndepends \"mesos\"\n") {
			t.Errorf("metadata.rb lacks its name or depends 'mesos':\n%s", meta)
		}
		if strings.Contains(meta, "source_url") || strings.Contains(meta, "issues_url") || strings.Contains(meta, "chef_version") {
			t.Errorf("metadata.rb uses fields Chef 11 lacks:\n%s", meta)
		}
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
