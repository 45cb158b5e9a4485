package compiler

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// TestSensitiveReach makes a sensitive variable reach each kind of place a
// definition string can go, and checks that every file holding it is marked
// sensitive and the plan (printed by --plan and --json, copied into
// bundle.json) never shows it.
func TestSensitiveReach(t *testing.T) {
	const secretVar = "variable \"token\" {\n  default   = \"s3cr3t-t0ken\"\n  sensitive = true\n}\n"
	const secret = "s3cr3t-t0ken"
	hadoopCmd := `cmd         = "/opt/hadoop/bin/yarn resourcemanager"`
	cases := []struct {
		name  string
		edits []edit
		files []string // rendered files that must be sensitive
	}{
		{name: "app env", edits: []edit{{hadoopCmd, hadoopCmd + "\n  env = { TOKEN = var.token }"}},
			files: []string{"clusters/mesos01/marathon/hadoop.json"}},
		{name: "app env through a local and a function", edits: []edit{{hadoopCmd, hadoopCmd + "\n  env = { TOKEN = local.tok }"}, {"locals {", "locals {\n  tok = upper(var.token)"}},
			files: []string{"clusters/mesos01/marathon/hadoop.json"}},
		{name: "app args", edits: []edit{{hadoopCmd, `args = ["/opt/hadoop/bin/yarn", "--token=${var.token}"]`}},
			files: []string{"clusters/mesos01/marathon/hadoop.json"}},
		{name: "node attributes", edits: []edit{{`attributes      = { rack = "r1" }`, `attributes      = { rack = "r1", tenant = var.token }`}},
			files: []string{"clusters/mesos01/nodes/fast/etc/mesos-slave/attributes/tenant", "clusters/mesos01/chef/fast.json"}},
		{name: "constraint value", edits: []edit{{`attributes      = { rack = "r2" }`, `attributes      = { rack = "r2", tenant = var.token }`},
			{`constraints = [["storage_profile", "CLUSTER", "vmax"]]`, `constraints = [["storage_profile", "CLUSTER", "vmax"], ["tenant", "CLUSTER", var.token]]`}},
			files: []string{"clusters/mesos01/marathon/nginx.json", "clusters/mesos01/chef/bulk.json"}},
		{name: "host name", edits: []edit{{`hosts     = ["master-1.localdomain",`, `hosts     = ["${var.token}.localdomain",`}},
			files: []string{"clusters/mesos01/haproxy/marathons", "clusters/mesos01/haproxy/haproxy.cfg", "clusters/mesos01/nodes/master/etc/mesos/zk"}},
		{name: "stats password only", edits: []edit{{`stats_auth = "admin:${var.stats_password}"`, `stats_auth = "admin:${var.token}"`}},
			files: []string{"clusters/mesos01/haproxy/haproxy.cfg"}},
	}
	base := exampleHCL(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := secretVar + applyEdits(t, base, tc.edits)
			p, diags, _ := compileText(t, text, exampleFacts())
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("errors:%s", diagText(errs))
			}
			if strings.Contains(diagText(diags), secret) || strings.Contains(diagText(diags), strings.ToUpper(secret)) {
				t.Errorf("a diagnostic shows the secret:%s", diagText(diags))
			}
			byPath := map[string]*File{}
			for _, f := range p.Files {
				byPath[f.Path] = f
				if !f.Sensitive && (bytes.Contains(f.Data, []byte(secret)) || bytes.Contains(f.Data, []byte(strings.ToUpper(secret)))) {
					t.Errorf("%s holds the secret but is not sensitive", f.Path)
				}
			}
			for _, name := range tc.files {
				if f := byPath[name]; f == nil || !f.Sensitive {
					t.Errorf("%s: want a sensitive file, got %+v", name, f)
				}
			}
			plan, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(bytes.ToLower(plan), []byte(secret)) {
				t.Errorf("the plan shows the secret: %s", plan)
			}
		})
	}
}

// TestDigestHidesSecrets: the definition digest must not depend on a
// sensitive variable's value (else bundle.json lets anyone test guesses),
// but does on everything else.
func TestDigestHidesSecrets(t *testing.T) {
	base := exampleHCL(t)
	digest := func(text string, opts sitedef.Options) string {
		d, diags := sitedef.Load(siteDir(t, text), opts)
		if diags.HasErrors() {
			t.Fatalf("loading: %s", diagText(diags))
		}
		return d.Digest
	}
	d0 := digest(base, sitedef.Options{})
	if d1 := digest(strings.Replace(base, `default     = "change-me"`, `default     = "another-guess"`, 1), sitedef.Options{}); d1 != d0 {
		t.Errorf("the digest changes with the sensitive default: %s vs %s", d0, d1)
	}
	if d2 := digest(base, sitedef.Options{Vars: []string{"stats_password=hunter22-guess"}}); d2 != d0 {
		t.Errorf("the digest changes with the sensitive --var: %s vs %s", d0, d2)
	}
	if d3 := digest(base, sitedef.Options{Vars: []string{"bde_server=other.localdomain"}}); d3 == d0 {
		t.Error("the digest ignores a non-sensitive variable")
	}
	if d4 := digest(strings.Replace(base, `instances = 3`, `instances = 5`, 1), sitedef.Options{}); d4 == d0 {
		t.Error("the digest ignores the definition text")
	}
}

// TestSensitiveJob: a Chronos job's JSON is not among the places a
// sensitive value may go, so a sensitive variable in a job's command, env,
// owner, description or constraints is refused at its attribute, and
// neither a diagnostic, the plan nor a rendered file shows it.
func TestSensitiveJob(t *testing.T) {
	const secretVar = "variable \"token\" {\n  default   = \"s3cr3t-t0ken\"\n  sensitive = true\n}\n"
	const secret = "s3cr3t-t0ken"
	for _, tc := range []struct{ name, from, to, at string }{
		{"command", `"/usr/local/bin/backup"`, `"/usr/local/bin/backup --token=${var.token}"`, `command     = "/usr/local/bin/backup --token`},
		{"env value", `{ TARGET = "/backup" }`, `{ TARGET = "/backup", TOKEN = var.token }`, `TOKEN = var.token`},
		{"env value through a local", `{ TARGET = "/backup" }`, `{ TARGET = "/backup", TOKEN = upper(local.jobtok) }`, `TOKEN = upper(local.jobtok)`},
		{"description", `owner       =`, "description = var.token\n  owner       =", `description = var.token`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edits := []edit{withJobs(strings.Replace(jobBackup, tc.from, tc.to, 1)), {"locals {", "locals {\n  jobtok = var.token"}}
			text := secretVar + applyEdits(t, exampleHCL(t), edits)
			p, diags, _ := compileText(t, text, exampleFacts())
			wantDiagAt(t, text, tc.at, "Sensitive value where it would be shown", errorsOf(diags), diags)
			if all := diagText(diags); strings.Contains(all, secret) || strings.Contains(all, strings.ToUpper(secret)) {
				t.Errorf("a diagnostic shows the secret:%s", all)
			}
			if p == nil { // refused: nothing is rendered
				return
			}
			for _, f := range p.Files {
				if !f.Sensitive && (bytes.Contains(f.Data, []byte(secret)) || bytes.Contains(f.Data, []byte(strings.ToUpper(secret)))) {
					t.Errorf("%s holds the secret but is not sensitive", f.Path)
				}
			}
			if plan, err := json.Marshal(p); err != nil || bytes.Contains(bytes.ToLower(plan), []byte(secret)) {
				t.Errorf("the plan shows the secret (%v)", err)
			}
		})
	}
}
