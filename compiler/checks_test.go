package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
)

const (
	nginxCons  = `constraints = [["storage_profile", "CLUSTER", "vmax"]]`
	hadoopCons = `constraints = [["storage_profile", "CLUSTER", "vsan"], ["hostname", "UNIQUE"]]`
)

// edit is one text replacement in the example definition.
type edit struct{ old, new string }

// applyEdits applies each edit to the first occurrence of its old text.
func applyEdits(t *testing.T, text string, edits []edit) string {
	t.Helper()
	for _, e := range edits {
		if !strings.Contains(text, e.old) {
			t.Fatalf("the example has no %q", e.old)
		}
		text = strings.Replace(text, e.old, e.new, 1)
	}
	return text
}

// siteEntry is release 1's manifest entry, as examples/mesos-site/site/manifest
// has it, without the closing bracket.
const siteEntry = `[{"name":"mesos","vendor":"MESOS","version":"0.21.0","packages":[{"roles":["mesos_master"],"package_repos":["https://bde.localdomain/yum/mesos.repo"]}]}`

func TestChecks(t *testing.T) {
	cases := []struct {
		name    string
		edits   []edit
		files   map[string]string // extra files in the site directory
		summary string
		at      string // text on the line the diagnostic must point at ("" for no error)
	}{
		{name: "example passes"},
		{name: "MAX_PER before Marathon 1.3",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "CLUSTER", "vmax"], ["hostname", "MAX_PER", "1"]]`}},
			summary: "Constraint operator too new", at: `["hostname", "MAX_PER", "1"]`},
		{name: "MAX_PER from Marathon 1.3",
			edits: []edit{{nginxCons, `constraints = [["storage_profile", "CLUSTER", "vmax"], ["hostname", "MAX_PER", "1"]]`},
				{`marathon = "0.8.0"`, `marathon = "1.3.0"`}}},
		{name: "unknown operator",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "CLUSTERS", "vmax"]]`}},
			summary: "Unknown constraint operator", at: `"CLUSTERS"`},
		{name: "LIKE with a bad pattern",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "LIKE", "vm[ax"]]`}},
			summary: "Invalid constraint pattern", at: `"vm[ax"`},
		{name: "LIKE with a full-match pattern",
			edits: []edit{{nginxCons, `constraints = [["storage_profile", "LIKE", "vm.*"]]`}}},
		{name: "LIKE without a value",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "LIKE"]]`}},
			summary: "Wrong constraint arity", at: `["storage_profile", "LIKE"]`},
		{name: "UNIQUE with a value",
			edits:   []edit{{hadoopCons, `constraints = [["storage_profile", "CLUSTER", "vsan"], ["hostname", "UNIQUE", "x"]]`}},
			summary: "Wrong constraint arity", at: `["hostname", "UNIQUE", "x"]`},
		{name: "GROUP_BY with a non-number",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "CLUSTER", "vmax"], ["rack", "GROUP_BY", "two"]]`}},
			summary: "Invalid constraint value", at: `"GROUP_BY", "two"`},
		{name: "numeric constraint value before 1.3",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "CLUSTER", "vmax"], ["rack", "CLUSTER", "2"]]`}},
			summary: "Numeric attribute value", at: `["rack", "CLUSTER", "2"]`},
		{name: "numeric node group attribute before 1.3",
			edits:   []edit{{`attributes      = { rack = "r2" }`, `attributes      = { rack = "2" }`}},
			summary: "Numeric attribute value", at: `rack = "2"`},
		{name: "numeric node group attribute from 1.3",
			edits: []edit{{`attributes      = { rack = "r2" }`, `attributes      = { rack = "2" }`}, {`marathon = "0.8.0"`, `marathon = "1.3.0"`}}},
		{name: "numeric storage profile value",
			edits:   []edit{{`storage    = "local"`, `storage    = "local"` + "\n  value      = \"40\""}},
			summary: "Numeric attribute value", at: `value      = "40"`},
		{name: "storage profile value with spaces",
			edits:   []edit{{`storage    = "local"`, `storage    = "local"` + "\n  value      = \"vmax 40k\""}},
			summary: "Attribute value with spaces", at: `value      = "vmax 40k"`},
		{name: "constraint value with spaces",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "CLUSTER", "vmax 40k"]]`}},
			summary: "Attribute value with spaces", at: `"vmax 40k"`},
		{name: "attribute set twice",
			edits:   []edit{{`attributes      = { rack = "r1" }`, `attributes      = { rack = "r1", storage_profile = "ssd" }`}},
			summary: "Attribute set twice", at: `storage_profile = "ssd"`},
		{name: "no slave matches",
			edits:   []edit{{nginxCons, `constraints = [["storage_profile", "CLUSTER", "vnx"]]`}},
			summary: "Unsatisfiable constraints", at: `"vnx"`},
		{name: "UNLIKE excludes every slave",
			edits:   []edit{{nginxCons, `constraints = [["rack", "UNLIKE", "r[12]"]]`}},
			summary: "Unsatisfiable constraints", at: `"UNLIKE"`},
		{name: "hostname UNIQUE needs more slaves",
			edits:   []edit{{"instances   = 3\n  cpus        = 4", "instances   = 6\n  cpus        = 4"}},
			summary: "Not enough capacity", at: "instances   = 6"},
		{name: "pinned host ports need one slave per task",
			edits:   []edit{{"instances   = 10\n  cpus        = 0.5", "instances   = 11\n  cpus        = 0.5"}},
			summary: "Not enough capacity", at: "instances   = 11"},
		{name: "memory does not fit",
			edits:   []edit{{"mem         = 8192", "mem         = 40000"}},
			summary: "Not enough capacity", at: "instances   = 3\n  cpus        = 4"},
		{name: "role package missing",
			edits: []edit{{`packages = ["rpms/mesos-0.22.0"]`,
				`packages = ["rpms/mesos-0.22.0/mesos-0*.rpm", "rpms/mesos-0.22.0/marathon*.rpm", "rpms/mesos-0.22.0/chronos*.rpm", "rpms/mesos-0.22.0/docker*.rpm"]`}},
			summary: "Role package missing", at: `roles     = ["zookeeper", "mesos_master", "mesos_marathon", "mesos_chronos"]`},
		{name: "role package missing in an unused distro role",
			edits:   []edit{{`packages = ["rpms/mesos-0.21.0"]`, `packages = ["rpms/mesos-0.21.0/mesos-0*.rpm"]`}},
			summary: "Role package missing", at: `roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_docker", "mesos_chronos", "mesos_marathon"]` + "\n\n  baseline {\n    provides = [\"/bin/sh\", \"/bin/bash\", \"bash\", \"glibc\", \"libcurl\", \"zlib\", \"cyrus-sasl-md5\", \"subversion\", \"apr\", \"apr-util\", \"java-1.7.0-openjdk\", \"java\", \"unzip\", \"initscripts\", \"chkconfig\", \"shadow-utils\", \"iptables\", \"device-mapper-libs\", \"libcgroup\", \"lxc\", \"xz\", \"git\", \"procps\", \"coreutils\", \"util-linux\", \"logrotate\", \"socat\", \"openssl\", \"rsyslog\", \"curl\", \"e2fsprogs\", \"python\"]\n  }\n}\n\ncluster"},
		{name: "service port of Marathon",
			edits:   []edit{{"ports       = [80]", "ports       = [8080]"}},
			summary: "Service port taken", at: "ports       = [8080]"},
		{name: "service port of the stats page",
			edits:   []edit{{`stats_auth = "admin:${var.stats_password}"`, `stats_auth = "admin:${var.stats_password}"` + "\n    stats_port = 80"}},
			summary: "Service port taken", at: "ports       = [80]"},
		{name: "service port of ZooKeeper",
			edits:   []edit{{`path = "/mesos"`, `path = "/mesos"` + "\n    port = 80"}},
			summary: "Service port taken", at: "ports       = [80]"},
		{name: "service port in the task range",
			edits:   []edit{{"ports       = [80]", "ports       = [31005]"}},
			summary: "Service port in the task range", at: "ports       = [31005]"},
		{name: "duplicate service port",
			edits:   []edit{{`cmd         = "/opt/hadoop/bin/yarn resourcemanager"`, `cmd         = "/opt/hadoop/bin/yarn resourcemanager"` + "\n  ports       = [80]"}},
			summary: "Duplicate service port", at: "ports       = [80]\n  image"},
		{name: "even ZooKeeper ensemble",
			edits: []edit{{"instances = 3\n    cpu       = 2", "instances = 2\n    cpu       = 2"},
				{`hosts     = ["master-1.localdomain", "master-2.localdomain", "master-3.localdomain"]`, `hosts     = ["master-1.localdomain", "master-2.localdomain"]`}},
			summary: "Even ZooKeeper ensemble", at: "instances = 2"},
		{name: "no ZooKeeper",
			edits:   []edit{{`roles     = ["zookeeper", "mesos_master", "mesos_marathon", "mesos_chronos"]`, `roles     = ["mesos_master", "mesos_marathon", "mesos_chronos"]`}},
			summary: "No ZooKeeper", at: `cluster "mesos01" {`},
		{name: "hosts do not match instances",
			edits:   []edit{{`hosts     = ["master-1.localdomain", "master-2.localdomain", "master-3.localdomain"]`, `hosts     = ["master-1.localdomain", "master-2.localdomain"]`}},
			summary: "Host count mismatch", at: `hosts     = ["master-1.localdomain", "master-2.localdomain"]`},
		{name: "invalid ZooKeeper path",
			edits:   []edit{{`path = "/mesos"`, `path = "/me sos"`}},
			summary: "Invalid ZooKeeper path", at: `path = "/me sos"`},
		// Upgrades (compiler/upgrade.go): the attributes that once shipped
		// a broken manifest are refused with what replaced them.
		{name: "keep is replaced",
			edits:   []edit{{`repos   = [repo.mesos]`, `repos   = [repo.mesos]` + "\n  keep    = [\"0.21.0\"]"}},
			summary: "keep is replaced", at: `keep    = ["0.21.0"]`},
		{name: "manifest on a distro is replaced",
			edits:   []edit{{`repos   = [repo.mesos]`, `repos   = [repo.mesos]` + "\n  manifest = \"site/manifest\""}},
			summary: "manifest is replaced", at: `manifest = "site/manifest"` + "\n  roles"},
		{name: "site manifest with other entries kept as they are",
			edits: []edit{{`manifest = "site/manifest"`, `manifest = "old-manifest"`}},
			files: map[string]string{"old-manifest": siteEntry + `,{"name":"cdh4","vendor":"CDH","version":"4.7.0","packages":[{"roles":["hadoop_namenode"],"package_repos":["http://x/cdh4.repo"]}]}]`}},
		{name: "kept entry pointing at a rewritten .repo",
			edits:   []edit{{`manifest = "site/manifest"`, `manifest = "old-manifest"`}},
			files:   map[string]string{"old-manifest": siteEntry + `,{"name":"mesos020","vendor":"MESOS","version":"0.20.0","packages":[{"roles":["mesos_master"],"package_repos":["https://bde.localdomain/yum/mesos.repo"]}]}]`},
			summary: "Kept entry would install another version", at: `manifest = "old-manifest"`},
		{name: "invalid site manifest",
			edits:   []edit{{`manifest = "site/manifest"`, `manifest = "old-manifest"`}},
			files:   map[string]string{"old-manifest": `[{"name": "mesos", }]`},
			summary: "Invalid manifest", at: `manifest = "old-manifest"`},
		{name: "site manifest with a name twice",
			edits:   []edit{{`manifest = "site/manifest"`, `manifest = "old-manifest"`}},
			files:   map[string]string{"old-manifest": siteEntry + "," + siteEntry[1:] + "]"},
			summary: "Duplicate manifest entry", at: `manifest = "old-manifest"`},
		{name: "running cluster moved to another distro name",
			edits:   []edit{{`distro  = "mesos"`, `distro  = "mesos-previous"`}},
			summary: "Running cluster cannot change distro", at: `distro  = "mesos-previous"`},
		{name: "running version the site does not run",
			edits:   []edit{{"distro  = \"mesos\"\n    version = \"0.21.0\"", "distro  = \"mesos\"\n    version = \"0.20.0\""}},
			summary: "Running version differs from the site", at: `version = "0.20.0"`},
		{name: "running distro the site does not have",
			edits:   []edit{{`manifest = "site/manifest"`, `manifest = "old-manifest"`}},
			files:   map[string]string{"old-manifest": strings.Replace(siteEntry, `"mesos"`, `"mesos-x"`, 1) + "]"},
			summary: "Running distro not on the site", at: `distro  = "mesos"`},
		{name: "vendor of a running distro changed",
			edits:   []edit{{`manifest = "site/manifest"`, `manifest = "old-manifest"`}},
			files:   map[string]string{"old-manifest": strings.Replace(siteEntry, `"MESOS"`, `"MESOSPHERE"`, 1) + "]"},
			summary: "Vendor of a running distro changed", at: `vendor  = "MESOS"`},
		{name: "one repo for two versions",
			edits:   []edit{{`repos   = [repo.mesos-previous]`, `repos   = [repo.mesos] # shared`}},
			summary: "Repo shared by two versions", at: `repos   = [repo.mesos] # shared`},
		{name: "health check on a missing port",
			edits:   []edit{{`constraints = [["storage_profile", "CLUSTER", "vsan"], ["hostname", "UNIQUE"]]`, hadoopCons + "\n  health_check {\n    protocol = \"TCP\"\n  }"}},
			summary: "Invalid health check port", at: "health_check {\n    protocol = \"TCP\""},
		{name: "repo without base_url",
			edits:   []edit{{`base_url = "${local.yum}/repos/mesos/0.22.0/"`, ``}},
			summary: "No repo URL", at: `repo "mesos" {`},
		// Two inputs on one bundle path: builder.Check refuses the plan too,
		// but only while building; validate must say it first, here.
		{name: "two repos in one directory",
			edits:   []edit{{"path     = \"mesos\"\n  version  = \"0.21.0\"", "version  = \"0.22.0\" # the mesos repo's\n  path     = \"mesos\""}},
			summary: "Duplicate repo directory", at: `version  = "0.22.0" # the mesos repo's`},
		{name: "two GPG keys with one file name",
			edits:   []edit{{`packages = ["rpms/mesos-0.22.0"]`, `packages = ["rpms/mesos-0.22.0"]` + "\n  gpg_keys = [\"k1/RPM-GPG-KEY\", \"k2/RPM-GPG-KEY\"]"}},
			files:   map[string]string{"k1/RPM-GPG-KEY": "one", "k2/RPM-GPG-KEY": "another"},
			summary: "Duplicate key file name", at: `gpg_keys = ["k1/RPM-GPG-KEY"`},
		{name: "one GPG key named twice",
			edits: []edit{{`packages = ["rpms/mesos-0.22.0"]`, `packages = ["rpms/mesos-0.22.0"]` + "\n  gpg_keys = [\"k1/RPM-GPG-KEY\"]"},
				{`packages = ["rpms/mesos-0.21.0"]`, `packages = ["rpms/mesos-0.21.0"]` + "\n  gpg_keys = [\"k1/RPM-GPG-KEY\"]"}},
			files: map[string]string{"k1/RPM-GPG-KEY": "one"}},
		// datastore_path is checked as bundle.json's reader checks it
		// (manifest.CheckRelPath), so validate refuses what verify would.
		{name: "datastore_path leaving the datastore",
			edits:   []edit{{`datastore_path = "bundles/mesos-site"`, `datastore_path = "bundles/../.."`}},
			summary: "Invalid datastore_path", at: `datastore_path = "bundles/../.."`},
		{name: "datastore_path absolute",
			edits:   []edit{{`datastore_path = "bundles/mesos-site"`, `datastore_path = "/bundles"`}},
			summary: "Invalid datastore_path", at: `datastore_path = "/bundles"`},
		{name: "datastore_path dot",
			edits:   []edit{{`datastore_path = "bundles/mesos-site"`, `datastore_path = "."`}},
			summary: "Invalid datastore_path", at: `datastore_path = "."`},
	}
	base := exampleHCL(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := applyEdits(t, base, tc.edits)
			dir := siteDir(t, text)
			for name, content := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d, diags := sitedef.Load(dir, sitedef.Options{})
			if diags.HasErrors() {
				t.Fatalf("loading: %s", diagText(diags))
			}
			_, diags = Compile(d, gatherFacts(t, d, dir, exampleFacts()))
			errs := errorsOf(diags)
			wantDiagAt(t, text, tc.at, tc.summary, errs, diags)
		})
	}
}

// wantDiagAt fails t unless, with summary empty, errs is empty, or errs
// holds an error summary on the line of text where at first stands; diags
// (all of the compile's diagnostics) is shown on failure.
func wantDiagAt(t *testing.T, text, at, summary string, errs, diags hcl.Diagnostics) {
	t.Helper()
	if summary == "" {
		if len(errs) > 0 {
			t.Fatalf("unexpected errors:%s", diagText(errs))
		}
		return
	}
	i := strings.Index(text, at)
	if i < 0 {
		t.Fatalf("%q is not in the edited definition", at)
	}
	line := strings.Count(text[:i], "\n") + 1
	if !hasDiag(errs, summary, line) {
		t.Errorf("want %q at site.hcl:%d; got:%s", summary, line, diagText(diags))
	}
}

func hasDiag(diags hcl.Diagnostics, summary string, line int) bool {
	for _, d := range diags {
		if d.Summary == summary && d.Subject != nil && filepath.Base(d.Subject.Filename) == "site.hcl" && d.Subject.Start.Line <= line && line <= d.Subject.End.Line {
			return true
		}
	}
	return false
}
