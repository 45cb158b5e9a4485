package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/testutil"
)

// baseSite is a small valid definition; each broken case edits it.
const baseSite = `bundle "site" {
  version = "1.0.0"
  epoch   = 1426032000
}

variable "pw" {
  type      = string
  default   = "long-enough-pw"
  sensitive = true

  validation {
    condition     = length(var.pw) >= 8
    error_message = "The password must be at least 8 characters."
  }
}

variable "count" {
  type    = number
  default = 3
}

locals {
  yum = "https://bde.localdomain/yum"
}

storage_profile "vsan" {
  backend = "VMware VSAN"
  storage = "shared"
}

repo "mesos" {
  version  = "0.22.0"
  packages = ["rpms"]
  base_url = "${local.yum}/repos/mesos/0.22.0/"
}

distro "mesos" {
  vendor  = "MESOS"
  version = "0.22.0"
  repos   = [repo.mesos]
  roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_marathon"]
  baseline { provides = ["/bin/sh", "/bin/bash", "bash", "glibc", "libcurl", "zlib", "cyrus-sasl-md5", "subversion", "apr", "apr-util", "java-1.7.0-openjdk", "java", "unzip", "initscripts", "chkconfig", "shadow-utils", "iptables", "device-mapper-libs", "libcgroup", "lxc", "xz", "git", "procps", "coreutils", "util-linux", "logrotate", "socat", "openssl", "rsyslog", "curl", "e2fsprogs", "python"] }
}

cluster "c1" {
  distro   = distro.mesos
  marathon = "0.8.0"

  node_group "master" {
    roles     = ["zookeeper", "mesos_master", "mesos_marathon"]
    instances = var.count
    cpu       = 2
    memory_mb = 4096
  }

  node_group "slave" {
    roles           = ["mesos_slave"]
    instances       = 3
    cpu             = 2
    memory_mb       = 4096
    storage_profile = storage_profile.vsan
  }

  haproxy {
    stats_auth = "admin:${var.pw}"
  }
}

app "web" {
  cluster   = cluster.c1
  cmd       = "python -m SimpleHTTPServer $PORT0"
  instances = 1
  cpus      = 0.1
  mem       = 64
}
`

// writeSite writes a definition with a stand-in RPM beside it and returns its dir.
func writeSite(t testing.TB, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range demoinputs.Mesos("0.22.0") {
		p.PayloadKB = 0
		if _, err := demoinputs.WriteRPM(filepath.Join(dir, "rpms"), p, demoinputs.Epoch); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func run(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestValidateBaseSite(t *testing.T) {
	dir := writeSite(t, baseSite)
	code, out, errs := run(t, "validate", dir)
	if code != 0 {
		t.Fatalf("validate exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "is valid") {
		t.Errorf("validate printed %q", out)
	}
}

// marker shows where a case expects its diagnostic to point.
const marker = "«"

// position returns the 1-based line and column of marker in src, and src
// without it.
func position(src string) (string, int, int) {
	i := strings.Index(src, marker)
	if i < 0 {
		return src, 0, 0
	}
	before := src[:i]
	line := strings.Count(before, "\n") + 1
	col := len(before) - strings.LastIndex(before, "\n")
	return strings.Replace(src, marker, "", 1), line, col
}

func TestValidateBrokenDefinitions(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // replace old with new in baseSite (new may carry the marker)
		extra    string // appended to the definition
		args     []string
		files    map[string]string // extra files written beside site.hcl (may carry the marker; then it is the expected file)
		summary  string
		detail   string
	}{
		{name: "syntax error", old: `version = "1.0.0"`, new: `version = "1.0.0" «"x"`, summary: "Missing newline after argument"},
		{name: "unclosed block", extra: "\nimage \"x\" «{\n  ref = \"a\"\n", summary: "Unclosed configuration block"},
		{name: "unknown block type", extra: "\n«repository \"x\" {\n}\n", summary: "Unsupported block type"},
		{name: "unknown attribute", old: `backend = "VMware VSAN"`, new: `«backnd = "VMware VSAN"`, summary: "Unsupported argument", detail: `Did you mean "backend"?`},
		{name: "wrong type", old: "instances       = 3", new: `instances       = "«three"`, summary: "Unsuitable value type"},
		{name: "missing required attribute", old: "repo \"mesos\" {\n  version  = \"0.22.0\"\n", new: "repo \"mesos\" «{\n", summary: "Missing required argument"},
		{name: "missing required in nested block", old: "    instances       = 3\n", new: "", summary: "Missing required argument"},
		{name: "unknown reference", old: "distro   = distro.mesos", new: "distro   = «distro.mesoss", summary: "Reference to undeclared distro", detail: `Did you mean "mesos"?`},
		{name: "reference of wrong type", old: "distro   = distro.mesos", new: "distro   = «repo.mesos", summary: "Invalid reference"},
		{name: "quoted reference", old: "cluster   = cluster.c1", new: "cluster   = «\"c1\"", summary: "Invalid reference"},
		{name: "duplicate label", extra: "\n«repo \"mesos\" {\n  version  = \"1\"\n  packages = [\"rpms\"]\n}\n", summary: "Duplicate repo block"},
		{name: "duplicate node group", old: "  node_group \"slave\" {", new: "  node_group \"master\" {", summary: "Duplicate node_group block"},
		{name: "cycle in locals", old: "yum = \"https://bde.localdomain/yum\"", new: "yum = local.a\n  a   = «local.yum", summary: "Cycle in local values"},
		{name: "unknown local", old: "${local.yum}", new: "${local«.ym}", summary: "Unsupported attribute"},
		{name: "unknown variable", old: "${var.pw}", new: "${var«.password}", summary: "Unsupported attribute"},
		{name: "unknown function", old: `cmd       = "python`, new: `cmd       = «upperr("x") #`, summary: "Call to unknown function"},
		{name: "bad variable value from --var", args: []string{"--var", "count=abc"}, old: "variable \"count\" {", new: "«variable \"count\" {", summary: "Invalid value for variable"},
		{name: "variable fails validation", args: []string{"--var", "pw=short"}, old: "condition     = length", new: "condition     = «length", summary: "Invalid value for variable", detail: "at least 8 characters"},
		{name: "required variable without value", old: "  default   = \"long-enough-pw\"\n", new: "", summary: "No value for required variable"},
		{name: "var for undeclared variable", args: []string{"--var", "nope=1"}, summary: "Value for undeclared variable"},
		{name: "var file sets undeclared variable", args: []string{"--var-file", "FILE:site.vars.hcl"}, files: map[string]string{"site.vars.hcl": "count = 4\n«cuont = 5\n"}, summary: "Value for undeclared variable", detail: `Did you mean "count"?`},
		{name: "var file syntax error", args: []string{"--var-file", "FILE:site.vars.hcl"}, files: map[string]string{"site.vars.hcl": "count = 4\npw = «\n"}, summary: "Invalid expression"},
		{name: "var file with a block", args: []string{"--var-file", "FILE:site.vars.hcl"}, files: map[string]string{"site.vars.hcl": "«x {\n}\n"}, summary: "Unexpected \"x\" block"},
		{name: "missing var file", args: []string{"--var-file", "FILE:nope.vars.hcl"}, summary: "Cannot read variable file", detail: "nope.vars.hcl"},
		{name: "malformed --var", args: []string{"--var", "count"}, summary: "Invalid --var option", detail: `"count" is not of the form name=value`},
		{name: "var file wrong type", args: []string{"--var-file", "FILE:site.vars.hcl"}, files: map[string]string{"site.vars.hcl": "count = «\"many\"\n"}, summary: "Invalid value for variable"},
		{name: "missing input file", old: `packages = ["rpms"]`, new: `«packages = ["rpms/none-*.rpm"]`, summary: "No package matches"},
		{name: "unknown role in distro", old: `roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_marathon"]`, new: `«roles   = ["zookeeper", "mesos_master", "mesos_slav", "mesos_marathon"]`, summary: "Unknown role", detail: `Did you mean "mesos_slave"?`},
		{name: "role not in distro", old: `roles           = ["mesos_slave"]`, new: `«roles           = ["mesos_slave", "mesos_docker"]`, summary: "Role not in distro"},
		{name: "negative instances", old: "instances       = 3", new: "«instances       = -1", summary: "Invalid instance count"},
		{name: "bad bundle version", old: `version = "1.0.0"`, new: `«version = "1.0 beta"`, summary: "Invalid bundle version"},
		{name: "bad distro version", old: "  version = \"0.22.0\"\n  repos", new: "  «version = \"zero.22\"\n  repos", summary: "Invalid distro version"},
		{name: "bad marathon version", old: `marathon = "0.8.0"`, new: `«marathon = "latest"`, summary: "Invalid Marathon version"},
		{name: "bad storage type", old: `storage = "shared"`, new: `«storage = "ssd"`, summary: "Invalid storage type"},
		{name: "missing bundle block", old: "bundle \"site\" {\n  version = \"1.0.0\"\n  epoch   = 1426032000\n}\n", new: "", summary: "Missing bundle block"},
		{name: "duplicate bundle block", extra: "\n«bundle \"other\" {\n  version = \"2\"\n}\n", summary: "Duplicate bundle block"},
		{name: "zero cpus", old: "cpus      = 0.1", new: "«cpus      = 0", summary: "Invalid CPU share"},
		{name: "port out of range", old: "mem       = 64", new: "mem       = 64\n  «ports     = [70000]", summary: "Invalid port"},
		{name: "cmd and args", old: "mem       = 64", new: "mem       = 64\n  «args      = [\"x\"]", summary: "Conflicting cmd and args"},
		{name: "bad base url", old: `base_url = "${local.yum}`, new: `«base_url = "ftp://x`, summary: "Invalid base_url"},
		{name: "bad app id", old: "mem       = 64", new: "mem       = 64\n  «id        = \"/Web_App\"", summary: "Invalid app id"},
		{name: "negative epoch", old: "epoch   = 1426032000", new: "«epoch   = -5", summary: "Invalid epoch"},
		{name: "template_properties not a map", old: "storage_profile = storage_profile.vsan", new: "storage_profile = storage_profile.vsan\n    template_properties = \"«x\"", summary: "Unsuitable value type"},
		{name: "template_properties without a template", old: "storage_profile = storage_profile.vsan", new: "storage_profile = storage_profile.vsan\n    «template_properties = { role = \"x\" }", summary: "No template"},
		{name: "missing site manifest", extra: "\nupgrade {\n  «manifest = \"old-manifest\"\n}\n", summary: "Cannot read manifest", detail: "old-manifest"},
		{name: "keep, which upgrade replaced", old: `  roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_marathon"]`, new: `  roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_marathon"]` + "\n  «keep    = [\"0.20.0\"]", summary: "keep is replaced", detail: "distro block of its own name"},
		{name: "newline in a host name", old: "instances = var.count", new: "instances = var.count\n    «hosts     = [\"m1.localdomain\\n  server x 10.0.0.1:80\", \"m2\", \"m3\"]", summary: "Invalid host name (RFC 1123)"},
		{name: "';' in an attribute value", old: "storage_profile = storage_profile.vsan", new: "storage_profile = storage_profile.vsan\n    «attributes      = { rack = \"r1;gpu:1\" }", summary: "Invalid Mesos attribute value"},
		{name: "bad media_types", extra: "\nimage \"x\" {\n  ref         = \"nginx:1.7.9\"\n  «media_types = \"docker\"\n}\n", summary: "Invalid media_types", detail: `"preserve"`},
		{name: "bad image_media_types", old: "epoch   = 1426032000", new: "epoch   = 1426032000\n  «image_media_types = \"OCI\"", summary: "Invalid image_media_types", detail: `got "OCI"`},
		{name: "two site registries", extra: "\nvcenter \"a\" {\n  registry = \"reg-a.site:5000\"\n}\n\nvcenter \"b\" {\n  «registry = \"reg-b.site:5000\"\n}\n", summary: "Two site registries", detail: `vcenter "b" names registry "reg-b.site:5000" but vcenter "a" names "reg-a.site:5000"`},
		{name: "carriage return in the stats password", args: []string{"--var", "pw=long-enough-pw\rstats auth x:y"}, old: `stats_auth = "admin:${var.pw}"`, new: `«stats_auth = "admin:${var.pw}"`, summary: "Invalid HAProxy token", detail: "carriage return"},
		{name: "sensitive value of the wrong type in a var file", args: []string{"--var-file", "FILE:site.vars.hcl"}, files: map[string]string{"site.vars.hcl": "pw = «[\"long-enough-pw\"]\n"}, summary: "Invalid value for variable"},
		{name: "second file syntax error", files: map[string]string{"more.hcl": "image \"x\" {\n  ref = [\n«}\n"}, summary: "Invalid expression"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := baseSite
			if tc.old != "" {
				if !strings.Contains(src, tc.old) {
					t.Fatalf("case edits %q, which the base definition lacks", tc.old)
				}
				src = strings.Replace(src, tc.old, tc.new, 1)
			}
			src += tc.extra
			src, line, col := position(src)
			wantFile := "site.hcl"
			dir := writeSite(t, src)
			for name, content := range tc.files {
				c, l, cl := position(content)
				if l > 0 {
					line, col, wantFile = l, cl, name
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"validate", dir, "--json"}
			for _, a := range tc.args {
				args = append(args, strings.Replace(a, "FILE:", dir+"/", 1))
			}
			code, out, errs := run(t, args...)
			if code != ExitUser {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, ExitUser, out, errs)
			}
			var res struct {
				Valid       bool       `json:"valid"`
				Diagnostics []jsonDiag `json:"diagnostics"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if res.Valid {
				t.Fatal("valid = true for a broken definition")
			}
			var found bool
			for _, d := range res.Diagnostics {
				if d.Severity != "error" || !strings.Contains(d.Summary, tc.summary) || !strings.Contains(d.Detail, tc.detail) {
					continue
				}
				if line == 0 {
					found = true
					break
				}
				if d.Range == nil {
					continue
				}
				if filepath.Base(d.Range.Filename) == wantFile && d.Range.Start.Line == line && d.Range.Start.Column == col {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("no error %q (detail %q) at %s:%d:%d; got:\n%s", tc.summary, tc.detail, wantFile, line, col, out)
			}
			if strings.Contains(out+errs, "long-enough-pw") {
				t.Errorf("output shows the sensitive variable's value:\n%s%s", out, errs)
			}
		})
	}
}

func TestDiagnosticsTextHasSnippetAndHidesSensitive(t *testing.T) {
	src := strings.Replace(baseSite, `"admin:${var.pw}"`, `"admin:${var.pw + 1}"`, 1)
	dir := writeSite(t, src)
	code, _, errs := run(t, "validate", dir)
	if code != ExitUser {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Error: Invalid operand", "site.hcl line 65", `stats_auth = "admin:${var.pw + 1}"`, "(sensitive value)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "long-enough-pw") {
		t.Errorf("stderr shows the sensitive value:\n%s", errs)
	}
}

// TestSnippetsMaskSensitiveValues: a diagnostic whose snippet shows the
// line of a sensitive value (a var file, a default) shows '*' instead.
func TestSnippetsMaskSensitiveValues(t *testing.T) {
	dir := writeSite(t, strings.Replace(baseSite, `default   = "long-enough-pw"`, `default   = ["long-enough-pw"]`, 1))
	if err := os.WriteFile(filepath.Join(dir, "x.vars.hcl"), []byte("pw = {\n  a = \"long-enough-pw\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A var file that does not parse: which bytes are the secret is not
	// known, so none of the file is shown.
	if err := os.WriteFile(filepath.Join(dir, "y.vars.hcl"), []byte("pw = [\"long-enough-pw\"] }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", dir}, {"validate", dir, "--var-file", filepath.Join(dir, "x.vars.hcl")}, {"validate", dir, "--var-file", filepath.Join(dir, "y.vars.hcl")}} {
		code, out, errs := run(t, args...)
		if code != ExitUser || !strings.Contains(errs, "Invalid value for variable") && !strings.Contains(errs, "Missing newline after argument") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		if strings.Contains(out+errs, "long-enough-pw") {
			t.Errorf("%v: the output shows the sensitive value:\n%s%s", args, out, errs)
		}
		if !strings.Contains(errs, "****") {
			t.Errorf("%v: no masked snippet:\n%s", args, errs)
		}
	}
}

func TestVarSourcesPrecedence(t *testing.T) {
	dir := writeSite(t, baseSite)
	vf := filepath.Join(dir, "x.vars.hcl")
	if err := os.WriteFile(vf, []byte("count = 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BUNDLE_VAR_count", "7")
	plan := func(args ...string) int {
		code, out, errs := run(t, append([]string{"build", dir, "--plan", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var p struct {
			Clusters []struct {
				NodeGroups []struct{ Instances int } `json:"node_groups"`
			}
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		return p.Clusters[0].NodeGroups[0].Instances
	}
	if got := plan(); got != 7 {
		t.Errorf("env: instances = %d, want 7", got)
	}
	if got := plan("--var-file", vf); got != 5 {
		t.Errorf("var-file over env: instances = %d, want 5", got)
	}
	if got := plan("--var-file", vf, "--var", "count=9"); got != 9 {
		t.Errorf("--var over var-file: instances = %d, want 9", got)
	}
}

func TestExampleValidatesAndIsFormatted(t *testing.T) {
	dir := t.TempDir()
	writeExample(t, dir)
	if code, out, errs := run(t, "validate", dir); code != 0 {
		t.Fatalf("validate example: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run(t, "fmt", "-check", dir); code != 0 {
		t.Fatalf("fmt -check example: exit %d\n%s%s", code, out, errs)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	messy := "bundle \"x\" {\nversion=\"1\"\n    epoch = 0\n}\n"
	path := filepath.Join(dir, "site.hcl")
	if err := os.WriteFile(path, []byte(messy), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "fmt", "-check", "-diff", dir)
	if code != ExitUser || !strings.Contains(out, "+  version = \"1\"") {
		t.Fatalf("fmt -check on messy file: exit %d, out %q", code, out)
	}
	if b, _ := os.ReadFile(path); string(b) != messy {
		t.Fatal("fmt -check changed the file")
	}
	// The printed patch applies with git apply and patch -p1 from "/" (the
	// path is absolute), giving what fmt writes.
	patchFile := filepath.Join(t.TempDir(), "fmt.diff")
	if err := os.WriteFile(patchFile, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{testutil.RequireTool(t, "git", "git"), "apply", "--check", patchFile},
		{testutil.RequireTool(t, "patch", "patch"), "-p1", "--dry-run", "-d", "/", "-i", patchFile},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = "/"
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s\n%s", c, err, o, out)
		}
	}
	if code, _, errs := run(t, "fmt", dir); code != 0 {
		t.Fatalf("fmt: exit %d %s", code, errs)
	}
	if code, _, _ := run(t, "fmt", "-check", dir); code != 0 {
		t.Fatal("fmt did not make the file formatted")
	}
	if err := os.WriteFile(path, []byte("bundle \"x\" {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, "fmt", dir); code != ExitUser {
		t.Fatalf("fmt on a syntax error: exit %d, want 1", code)
	}
}

// TestVarFileDiagnosticSnippet: a diagnostic in a --var-file shows the
// offending line, like one in the definition.
func TestVarFileDiagnosticSnippet(t *testing.T) {
	dir := writeSite(t, baseSite)
	vf := filepath.Join(t.TempDir(), "bad.hcl")
	if err := os.WriteFile(vf, []byte("count = 4\npw = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "validate", dir, "--var-file", vf)
	if code != ExitUser || !strings.Contains(stderr, "2: pw = ") || strings.Contains(stderr, "source code not available") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"validate", "a", "b"}, {"build", "--bogus"}} {
		if code, _, _ := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if code, _, _ := run(t, "validate", filepath.Join(t.TempDir(), "missing")); code != ExitUser {
		t.Errorf("validate of a missing path: exit %d, want 1", code)
	}
}
