package compiler

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

const nginxImage = `  image       = image.nginx
  network     = "BRIDGE"`

func TestAppDependencies(t *testing.T) {
	cases := []struct {
		name    string
		edits   []edit
		summary string
		at      string
	}{
		{name: "dependency", edits: []edit{{nginxImage, nginxImage + "\n  dependencies = [app.hadoop]"}}},
		{name: "cycle", edits: []edit{{nginxImage, nginxImage + "\n  dependencies = [app.hadoop]"},
			{hadoopCons, hadoopCons + "\n  dependencies = [app.nginx]"}},
			summary: "App dependency cycle", at: "dependencies = [app.nginx]"},
	}
	base := exampleHCL(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := applyEdits(t, base, tc.edits)
			p, diags := compileFacts(t, text, nil)
			wantDiagAt(t, text, tc.at, tc.summary, errorsOf(diags), diags)
			if tc.summary != "" {
				return
			}
			for _, f := range p.Files {
				if f.Path == "clusters/mesos01/marathon/nginx.json" {
					var m map[string]any
					if err := json.Unmarshal(f.Data, &m); err != nil {
						t.Fatal(err)
					}
					if deps, _ := m["dependencies"].([]any); len(deps) != 1 || deps[0] != "/hadoop" {
						t.Fatalf("dependencies = %v", m["dependencies"])
					}
					return
				}
			}
			t.Fatal("no nginx.json")
		})
	}
}

func TestAppUndeclaredDependency(t *testing.T) {
	text := applyEdits(t, exampleHCL(t), []edit{{nginxImage, nginxImage + "\n  dependencies = [app.hadop]"}})
	wantUndeclared(t, text, "dependencies = [app.hadop]", "Reference to undeclared app", `Did you mean "hadoop"?`)
}

// wantUndeclared loads text and wants the error summary at the text at,
// suggesting the name meant.
func wantUndeclared(t *testing.T, text, at, summary, suggestion string) {
	t.Helper()
	_, diags := sitedef.Load(siteDir(t, text), sitedef.Options{})
	wantDiagAt(t, text, at, summary, errorsOf(diags), diags)
	if !strings.Contains(diagText(diags), suggestion) {
		t.Errorf("no suggestion: %s", diagText(diags))
	}
}

// TestAcrossClusters: an app's dependency and a job's parent must run on
// the same cluster, whose Marathon and Chronos know them.
func TestAcrossClusters(t *testing.T) {
	base := exampleHCL(t)
	i := strings.Index(base, `cluster "mesos01" {`)
	j := strings.Index(base, `app "hadoop" {`)
	if i < 0 || j < i {
		t.Fatal("the example's cluster block moved")
	}
	second := strings.Replace(base[i:j], `cluster "mesos01" {`, `cluster "mesos02" {`, 1)
	cases := []struct {
		name, extra, summary, at string
	}{
		{"app dependency", `app "web2" {
  cluster      = cluster.mesos02
  cmd          = "web"
  instances    = 1
  cpus         = 0.1
  mem          = 32
  dependencies = [app.hadoop]
}
`, "Dependency on another cluster", "dependencies = [app.hadoop]"},
		{"job parent", jobBackup + `job "report" {
  cluster = cluster.mesos02
  command = "report"
  parents = [job.backup]
  owner   = "ops@example.com"
}
`, "Parent on another cluster", "parents = [job.backup]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := base[:j] + second + tc.extra + base[j:]
			dir := siteDir(t, text)
			d, diags := sitedef.Load(dir, sitedef.Options{})
			if diags.HasErrors() {
				t.Fatalf("loading: %s", diagText(diags))
			}
			_, diags = Compile(d, gatherFacts(t, d, dir, exampleFacts()))
			wantDiagAt(t, text, tc.at, tc.summary, errorsOf(diags), diags)
		})
	}
}

// TestReferenceListNotAList: a distro's repos, a job's parents and an app's
// dependencies that are not a list each get their error at the attribute.
func TestReferenceListNotAList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    edit
		at      string
		summary string
	}{
		{"repos", edit{`repos   = [repo.mesos]`, `repos   = repo.mesos`}, `repos   = repo.mesos`, "Invalid reference list"},
		{"parents", withJobs(jobBackup, strings.Replace(jobVerify, `[job.backup]`, `"backup"`, 1)), `parents = "backup"`, "Invalid parents list"},
		{"dependencies", edit{nginxImage, nginxImage + "\n  dependencies = app.hadoop"}, `dependencies = app.hadoop`, "Invalid dependencies list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantUndeclared(t, applyEdits(t, exampleHCL(t), []edit{tc.edit}), tc.at, tc.summary, tc.name+" must be a list of ")
		})
	}
}
