package compiler

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
)

// faultyEdits break the example in many places at once: a role listed twice,
// a repo without base_url, a bad health check, a stats_auth without a
// password, an app id Marathon refuses, a missing package directory, apps
// that depend on each other, a job with a schedule that is not ISO 8601.
var faultyEdits = []edit{
	{`roles   = ["zookeeper", "mesos_master", "mesos_slave"`, `roles   = ["zookeeper", "zookeeper", "mesos_master", "mesos_slave"`},
	{`  base_url = "${local.yum}/repos/mesos/0.21.0/"` + "\n", ""},
	{`    protocol = "HTTP"`, `    protocol = "UDP"`},
	{`stats_auth = "admin:${var.stats_password}"`, `stats_auth = "admin"`},
	{`  cmd         = "/opt/hadoop/bin/yarn resourcemanager"`, `  id          = "/Hadoop"` + "\n" + `  cmd         = "/opt/hadoop/bin/yarn resourcemanager"`},
	{`packages = ["rpms/mesos-0.21.0"]`, `packages = ["rpms/mesos-0.20"]`},
	{nginxImage, nginxImage + "\n  dependencies = [app.hadoop]"},
	{hadoopCons, hadoopCons + "\n  dependencies = [app.nginx]"},
	withJobs(strings.Replace(jobBackup, "R/2015-03-01T02:00:00Z/P1D", "tomorrow", 1), jobVerify),
}

// TestCheckPass: building the plan's parts reports nothing, the check pass
// reports every diagnostic, and rendering adds none; Compile returns each
// diagnostic once.
func TestCheckPass(t *testing.T) {
	text := applyEdits(t, exampleHCL(t), faultyEdits)
	dir := siteDir(t, text)
	d, ldiags := sitedef.Load(dir, sitedef.Options{})
	if ldiags.HasErrors() {
		t.Fatalf("loading: %s", diagText(ldiags))
	}
	facts := gatherFacts(t, d, dir, exampleFacts())
	c := &compiler{d: d, facts: facts}
	p, repos := c.plan()
	if len(c.diags) > 0 {
		t.Errorf("plan reported %s", diagText(c.diags))
	}
	c.check(p, repos)
	checked := len(c.diags)
	c.render(p, repos)
	if len(c.diags) != checked {
		t.Errorf("rendering reported %s", diagText(c.diags[checked:]))
	}
	_, diags := Compile(d, facts)
	for _, want := range []string{"Duplicate role", "No repo URL", "Invalid health check protocol", "Invalid stats_auth", "Invalid app id", "No package matches", "App dependency cycle", "Invalid ISO 8601 schedule"} {
		if n := count(diags, want); n != 1 {
			t.Errorf("%q reported %d times, want once:\n%s", want, n, diagText(diags))
		}
	}
	seen := map[string]bool{}
	for _, dg := range diags {
		k := dg.Summary + "\x00" + dg.Detail
		if dg.Subject != nil {
			k += "\x00" + dg.Subject.String()
		}
		if seen[k] {
			t.Errorf("reported twice: %s: %s", dg.Summary, dg.Detail)
		}
		seen[k] = true
	}
}

func count(diags hcl.Diagnostics, summary string) int {
	n := 0
	for _, d := range diags {
		if d.Summary == summary {
			n++
		}
	}
	return n
}

// TestRenderersReportNothing: no render function of the compiler writes a
// diagnostic itself; what a renderer would refuse belongs to the check pass.
// (TestCheckPass shows that rendering reports nothing through what the
// renderers call either.)
func TestRenderersReportNothing(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	renderers := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range af.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil || !strings.HasPrefix(fd.Name.Name, "render") {
				continue
			}
			renderers++
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && (sel.Sel.Name == "errorf" || sel.Sel.Name == "warnf") {
					t.Errorf("%s: %s reports a diagnostic (%s); report it in the check pass", fset.Position(sel.Pos()), fd.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
	if renderers < 5 {
		t.Errorf("found %d render functions, want one per family at least", renderers)
	}
}
