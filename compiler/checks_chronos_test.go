package compiler

import (
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
