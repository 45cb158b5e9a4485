package compiler

import (
	"github.com/bdebundle/bundle/hcl/sitedef"
	"strings"
	"testing"
)

const (
	jobBackup = `job "backup" {
  cluster     = cluster.mesos01
  command     = "/usr/local/bin/backup"
  schedule    = "R/2015-03-01T02:00:00Z/P1D"
  owner       = "ops@example.com"
  image       = image.nginx
  cpus        = 0.5
  mem         = 256
  constraints = [["storage_profile", "EQUALS", "vsan"]]
  env         = { TARGET = "/backup" }
}
`
	jobVerify = `job "verify" {
  cluster = cluster.mesos01
  command = "/usr/local/bin/verify"
  parents = [job.backup]
  owner   = "ops@example.com, oncall@example.com"
}
`
)

// withJobs puts job blocks before the example's image block.
func withJobs(jobs ...string) edit {
	return edit{`image "nginx" {`, strings.Join(jobs, "\n") + "\n" + `image "nginx" {`}
}

func TestJobChecks(t *testing.T) {
	noChronos := edit{`roles     = ["zookeeper", "mesos_master", "mesos_marathon", "mesos_chronos"]`, `roles     = ["zookeeper", "mesos_master", "mesos_marathon"]`}
	cases := []struct {
		name    string
		edits   []edit
		summary string
		at      string
		warn    bool // a warning, not an error
	}{
		{name: "jobs pass", edits: []edit{withJobs(jobBackup, jobVerify)}},
		{name: "invalid ISO 8601", edits: []edit{withJobs(strings.Replace(jobBackup, "R/2015-03-01T02:00:00Z/P1D", "0 2 * * *", 1))},
			summary: "Invalid ISO 8601 schedule", at: `schedule    = "0 2 * * *"`},
		{name: "schedule without a start", edits: []edit{withJobs(strings.Replace(jobBackup, "R/2015-03-01T02:00:00Z/P1D", "R//P1D", 1))},
			summary: "Invalid ISO 8601 schedule", at: `schedule    = "R//P1D"`},
		{name: "cycle", edits: []edit{withJobs(
			strings.Replace(jobBackup, `schedule    = "R/2015-03-01T02:00:00Z/P1D"`, `parents     = [job.verify]`, 1), jobVerify)},
			summary: "Job dependency cycle", at: `parents     = [job.verify]`},
		{name: "self parent", edits: []edit{withJobs(jobBackup, strings.Replace(jobVerify, "[job.backup]", "[job.verify]", 1))},
			summary: "Job dependency cycle", at: `parents = [job.verify]`},
		{name: "schedule and parents", edits: []edit{withJobs(jobBackup, strings.Replace(jobVerify, `parents = [job.backup]`, `parents = [job.backup]`+"\n  schedule = \"R/2015-03-01T02:00:00Z/P1D\"", 1))},
			summary: "Schedule and parents", at: `parents = [job.backup]`},
		{name: "neither", edits: []edit{withJobs(strings.Replace(jobBackup, `schedule    = "R/2015-03-01T02:00:00Z/P1D"`, ``, 1))},
			summary: "No schedule", at: `job "backup" {`},
		{name: "cluster without Chronos", edits: []edit{noChronos, withJobs(jobBackup)},
			summary: "Cluster without Chronos", at: "cluster     = cluster.mesos01\n  command"},
		{name: "unsatisfiable constraints", edits: []edit{withJobs(strings.Replace(jobBackup, `"EQUALS", "vsan"`, `"EQUALS", "ssd"`, 1))},
			summary: "Unsatisfiable job constraints", at: `"EQUALS", "ssd"`},
		{name: "operator Chronos 2.3 lacks", edits: []edit{withJobs(strings.Replace(jobBackup, `"EQUALS", "vsan"`, `"LIKE", "vs.*"`, 1))},
			summary: "Unknown Chronos constraint operator", at: `"LIKE", "vs.*"`},
		{name: "not enough capacity", edits: []edit{withJobs(strings.Replace(jobBackup, `mem         = 256`, `mem         = 65536`, 1))},
			summary: "Job fits no slave", at: `mem         = 65536`},
		{name: "owner not an email", edits: []edit{withJobs(strings.Replace(jobBackup, `"ops@example.com"`, `"ops"`, 1))},
			summary: "Owner not an email address", at: `owner       = "ops"`},
		{name: "bad epsilon", edits: []edit{withJobs(strings.Replace(jobBackup, `owner       =`, `epsilon     = "60s"`+"\n  owner       =", 1))},
			summary: "Invalid epsilon", at: `epsilon     = "60s"`},
		{name: "negative disk", edits: []edit{withJobs(strings.Replace(jobBackup, `mem         = 256`, `mem         = 256`+"\n  disk        = -1", 1))},
			summary: "Invalid job resources", at: `disk        = -1`},
		{name: "escape character in a job command", edits: []edit{withJobs(strings.Replace(jobBackup, `"/usr/local/bin/backup"`, `"/usr/local/bin/backup\u001b[2J"`, 1))},
			summary: "Invalid JSON string", at: `command     = "/usr/local/bin/backup\u001b`},
		{name: "bad job environment variable name", edits: []edit{withJobs(strings.Replace(jobBackup, `{ TARGET = "/backup" }`, `{ "A=B" = "/backup" }`, 1))},
			summary: "Invalid environment variable name", at: `env         = { "A=B"`},
		{name: "job name with a space", edits: []edit{withJobs(strings.Replace(jobBackup, `job "backup"`, `job "a b"`, 1))},
			summary: "Invalid job name", at: `job "a b"`},
		{name: "constraints on Chronos 2.3.0, which ignores them", edits: []edit{withJobs(jobBackup)}, warn: true,
			summary: "Chronos ignores job constraints", at: `constraints = [["storage_profile", "EQUALS", "vsan"]]`},
		{name: "job name with a dot (Chronos 2.3's pattern has none)", edits: []edit{withJobs(strings.Replace(jobBackup, `job "backup"`, `job "db.backup"`, 1))},
			summary: "Invalid job name", at: `job "db.backup"`},
	}
	base := exampleHCL(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := applyEdits(t, base, tc.edits)
			_, diags := compileFacts(t, text, nil)
			pool := errorsOf(diags)
			if tc.warn {
				pool = diags
			}
			wantDiagAt(t, text, tc.at, tc.summary, pool, diags)
		})
	}
}

func TestJobUnknownParent(t *testing.T) {
	text := applyEdits(t, exampleHCL(t), []edit{withJobs(jobBackup, strings.Replace(jobVerify, "[job.backup]", "[job.backups]", 1))})
	wantUndeclared(t, text, `parents = [job.backups]`, "Reference to undeclared job", `Did you mean "backup"?`)
}

// TestJobGarbage feeds malformed job blocks through loading and compiling:
// each gets its diagnostic at the offending line, every error has a
// file:line:col, and nothing panics. A want of "" means the block is valid.
func TestJobGarbage(t *testing.T) {
	const sched = `"R/2015-03-01T02:00:00Z/P1D"`
	withSchedule := func(s string) edit {
		return withJobs(strings.Replace(jobBackup, sched, s, 1))
	}
	cases := []struct {
		name    string
		edits   []edit
		summary string
		at      string
	}{
		{"R/ alone", []edit{withSchedule(`"R/"`)}, "Invalid ISO 8601 schedule", `schedule    = "R/"`},
		{"negative repeats", []edit{withSchedule(`"R-1/2015-03-01T02:00:00Z/P1D"`)}, "Invalid ISO 8601 schedule", `"R-1/`},
		{"repeats beyond a long", []edit{withSchedule(`"R99999999999999999999/2015-03-01T02:00:00Z/P1D"`)}, "Invalid ISO 8601 schedule", `"R9999`},
		{"period P", []edit{withSchedule(`"R/2015-03-01T02:00:00Z/P"`)}, "Invalid ISO 8601 schedule", `Z/P"`},
		{"period beyond an int", []edit{withSchedule(`"R/2015-03-01T02:00:00Z/P99999999999D"`)}, "Invalid ISO 8601 schedule", `P99999999999D`},
		{"unicode digits", []edit{withSchedule(`"R/２０１５-03-01T02:00:00Z/P1D"`)}, "Invalid ISO 8601 schedule", `"R/２０１５`},
		{"newline in a schedule", []edit{withSchedule(`"R/2015-03-01T02:00:00Z/P1D\n"`)}, "Invalid ISO 8601 schedule", `P1D\n"`},
		{"a number as a schedule", []edit{withSchedule(`5`)}, "Invalid ISO 8601 schedule", `schedule    = 5`},
		{"epsilon P", []edit{withJobs(strings.Replace(jobBackup, `owner       =`, `epsilon     = "P"`+"\n  owner       =", 1))}, "Invalid epsilon", `epsilon     = "P"`},
		{"unicode in a job name", []edit{withJobs(strings.Replace(jobBackup, `job "backup"`, `job "bäckup"`, 1))}, "Invalid job name", `job "bäckup"`},
		{"path in a job name", []edit{withJobs(strings.Replace(jobBackup, `job "backup"`, `job "../x"`, 1))}, "Invalid job name", `job "../x"`},
		{"NUL in an owner", []edit{withJobs(strings.Replace(jobBackup, `"ops@example.com"`, `"ops@example.com\u0000"`, 1))}, "Invalid JSON string", `owner       = "ops@example.com\u0000"`},
		{"control character in a description", []edit{withJobs(strings.Replace(jobBackup, `owner       =`, `description = "nightly\u0007"`+"\n  owner       =", 1))}, "Invalid JSON string", `description = "nightly`},
		{"control character in an env value", []edit{withJobs(strings.Replace(jobBackup, `"/backup"`, `"/backup\u0001"`, 1))}, "Invalid JSON string", `env         = { TARGET`},
		{"blank command", []edit{withJobs(strings.Replace(jobBackup, `"/usr/local/bin/backup"`, `"  \n "`, 1))}, "Empty command", `command     = "  \n "`},
		{"a 10k-character command", []edit{withJobs(strings.Replace(jobBackup, `"/usr/local/bin/backup"`, `"`+strings.Repeat("echo ok; ", 1200)+`"`, 1))}, "", ""},
		{"empty parents and no schedule", []edit{withJobs(strings.Replace(jobBackup, `schedule    = `+sched, `parents     = []`, 1))}, "No schedule", `job "backup" {`},
		{"parents not a list", []edit{withJobs(jobBackup, strings.Replace(jobVerify, `[job.backup]`, `"backup"`, 1))}, "Invalid parents list", `parents = "backup"`},
		{"a constraint of one string", []edit{withJobs(strings.Replace(jobBackup, `[["storage_profile", "EQUALS", "vsan"]]`, `[["x"]]`, 1))}, "Invalid job constraint", `constraints = [["x"]]`},
		{"command a list", []edit{withJobs(strings.Replace(jobBackup, `"/usr/local/bin/backup"`, `["a"]`, 1))}, "", `command     = ["a"]`},
	}
	base := exampleHCL(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := applyEdits(t, base, tc.edits)
			d, diags := sitedef.Load(siteDir(t, text), sitedef.Options{})
			if !diags.HasErrors() {
				_, cd := Compile(d, nil)
				diags = append(diags, cd...)
			}
			errs := errorsOf(diags)
			for _, e := range errs {
				if e.Subject == nil || e.Subject.Filename == "" || e.Subject.Start.Line < 1 || e.Subject.Start.Column < 1 {
					t.Errorf("error without file:line:col: %s: %s", e.Summary, e.Detail)
				}
			}
			switch {
			case tc.summary != "":
				wantDiagAt(t, text, tc.at, tc.summary, errs, diags)
			case tc.at != "": // a load error of any summary at that line
				line := strings.Count(text[:strings.Index(text, tc.at)], "\n") + 1
				found := false
				for _, e := range errs {
					found = found || e.Subject != nil && e.Subject.Start.Line <= line && line <= e.Subject.End.Line
				}
				if !found {
					t.Errorf("want an error at site.hcl:%d; got:%s", line, diagText(diags))
				}
			case len(errs) > 0:
				t.Errorf("unexpected errors:%s", diagText(errs))
			}
		})
	}
}
