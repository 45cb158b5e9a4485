package compiler

import (
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
)

// compileEdited compiles the example with edits, with the facts of its
// inputs changed by tweak (when not nil).
func compileEdited(t *testing.T, edits []edit, tweak func(*Facts)) (*Plan, hcl.Diagnostics, string) {
	t.Helper()
	text := applyEdits(t, exampleHCL(t), edits)
	dir := siteDir(t, text)
	d, diags := sitedef.Load(dir, sitedef.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diagText(diags))
	}
	f := gatherFacts(t, d, dir, exampleFacts())
	if tweak != nil {
		tweak(f)
	}
	p, diags := Compile(d, f)
	return p, diags, text
}

func lineOf(t *testing.T, text, at string) int {
	t.Helper()
	i := strings.Index(text, at)
	if i < 0 {
		t.Fatalf("%q is not in the edited definition", at)
	}
	return strings.Count(text[:i], "\n") + 1
}

func setHAProxyVersion(v string) func(*Facts) {
	return func(f *Facts) {
		for repo, pkgs := range f.Packages {
			for i := range pkgs {
				if pkgs[i].Name == "haproxy" {
					f.Packages[repo][i].Version = v
				}
			}
		}
	}
}

var allButHAProxy = `packages = ["rpms/mesos-0.22.0/mesos-0*.rpm", "rpms/mesos-0.22.0/mesosphere*.rpm", "rpms/mesos-0.22.0/marathon*.rpm", "rpms/mesos-0.22.0/chronos*.rpm", "rpms/mesos-0.22.0/docker*.rpm"]`

// BDE's name rules, the packages the cookbooks install and the HAProxy
// version table, each with the diagnostic at its place.
func TestChefChecks(t *testing.T) {
	cases := []struct {
		name     string
		edits    []edit
		tweak    func(*Facts)
		severity hcl.DiagnosticSeverity
		summary  string
		at       string
	}{
		{name: "cluster name with '-'",
			edits:   []edit{{`cluster "mesos01" {`, `cluster "mesos-01" {`}, {`cluster.mesos01`, `cluster.mesos-01`}, {`cluster.mesos01`, `cluster.mesos-01`}},
			summary: "Invalid cluster name", at: `cluster "mesos-01" {`},
		{name: "node group name with '_'",
			edits:   []edit{{`node_group "fast" {`, `node_group "fast_1" {`}},
			summary: "Invalid node group name", at: `node_group "fast_1" {`},
		{name: "node group name with '-'",
			edits:   []edit{{`node_group "bulk" {`, `node_group "bulk-2" {`}},
			summary: "Invalid node group name", at: `node_group "bulk-2" {`},
		{name: "node group name too long",
			edits:   []edit{{`node_group "bulk" {`, `node_group "` + strings.Repeat("b", 81) + `" {`}},
			summary: "Invalid node group name", at: `node_group "bbbb`},
		{name: "registry that is not host:port",
			edits:   []edit{{`registry       = "registry.localdomain:5000"`, `registry       = "registry.localdomain:5000 --debug"`}},
			summary: "Invalid registry", at: `registry       = "registry.localdomain:5000 --debug"`},
		{name: "no haproxy in the repos",
			edits:   []edit{{`packages = ["rpms/mesos-0.22.0"]`, allButHAProxy}},
			summary: "Node package missing", at: `roles     = ["zookeeper", "mesos_master", "mesos_marathon", "mesos_chronos"]`},
		{name: "no docker-io for a docker group",
			edits:   []edit{{`packages = ["rpms/mesos-0.22.0"]`, `packages = ["rpms/mesos-0.22.0/mesos-0*.rpm", "rpms/mesos-0.22.0/mesosphere*.rpm", "rpms/mesos-0.22.0/marathon*.rpm", "rpms/mesos-0.22.0/chronos*.rpm", "rpms/mesos-0.22.0/haproxy*.rpm"]`}},
			summary: "Role package missing", at: `roles           = ["mesos_slave", "mesos_docker"]`},
		{name: "HAProxy older than the rendered config needs",
			tweak:   setHAProxyVersion("1.3.15"),
			summary: "HAProxy too old", at: `haproxy {`},
		{name: "declared slave hosts on HAProxy 1.5",
			edits:    []edit{{"attributes      = { rack = \"r2\" }", "attributes      = { rack = \"r2\" }\n    hosts           = [" + strings.TrimSuffix(strings.Repeat(`"b.localdomain", `, 10), ", ") + "]"}},
			severity: hcl.DiagWarning, summary: "Server names must resolve", at: `hosts           = ["b.localdomain"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags, text := compileEdited(t, tc.edits, tc.tweak)
			line := lineOf(t, text, tc.at)
			if tc.severity == 0 {
				tc.severity = hcl.DiagError
			}
			for _, d := range diags {
				if d.Severity == tc.severity && d.Summary == tc.summary && d.Subject != nil && d.Subject.Start.Line == line {
					return
				}
			}
			t.Fatalf("want %q at site.hcl:%d; got:%s", tc.summary, line, diagText(diags))
		})
	}
}

// The HAProxy version in the RPM facts decides the server options: init-addr
// from 1.7.0 on, in haproxy.cfg and in the bridge alike.
func TestHAProxyVersionTable(t *testing.T) {
	for _, tc := range []struct {
		version  string
		initAddr bool
	}{{"1.5.2", false}, {"1.6.9", false}, {"1.7.0", true}, {"2.6.12", true}} {
		p, diags, _ := compileEdited(t, nil, setHAProxyVersion(tc.version))
		if errs := errorsOf(diags); len(errs) > 0 {
			t.Fatalf("%s:%s", tc.version, diagText(errs))
		}
		for _, path := range []string{"clusters/mesos01/haproxy/haproxy.cfg", "clusters/mesos01/haproxy/haproxy-marathon-bridge"} {
			got := strings.Contains(string(planFile(t, p, path).Data), "init-addr")
			if got != tc.initAddr {
				t.Errorf("HAProxy %s: init-addr in %s is %v", tc.version, path, got)
			}
		}
	}
	// Without RPM facts the compiler assumes CentOS 6's HAProxy.
	p, _, _ := compileText(t, exampleHCL(t), nil)
	if strings.Contains(string(planFile(t, p, "clusters/mesos01/haproxy/haproxy.cfg").Data), "init-addr") {
		t.Error("init-addr without facts")
	}
}
