package compiler

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
