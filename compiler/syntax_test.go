package compiler

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/testutil"
)

// TestInjection edits the example so that a string would break the syntax
// of a rendered file; each must be refused at the attribute, and sensitive
// values never appear in the message.
func TestInjection(t *testing.T) {
	const (
		masterHosts = `hosts     = ["master-1.localdomain", "master-2.localdomain", "master-3.localdomain"]`
		rackR1      = `attributes      = { rack = "r1" }`
		password    = `default     = "change-me"`
		statsAuth   = `stats_auth = "admin:${var.stats_password}"`
	)
	cases := []struct {
		name    string
		edits   []edit
		summary string
		at      string
		secret  string // must not appear in any diagnostic
	}{
		{name: "newline in a host name",
			edits:   []edit{{masterHosts, `hosts     = ["master-1.localdomain\n  server evil 10.0.0.1:80", "master-2.localdomain", "master-3.localdomain"]`}},
			summary: "Invalid host name (RFC 1123)", at: `hosts     = ["master-1.localdomain\n`},
		{name: "underscore in a host name",
			edits:   []edit{{masterHosts, `hosts     = ["master_1.localdomain", "master-2.localdomain", "master-3.localdomain"]`}},
			summary: "Invalid host name (RFC 1123)", at: `hosts     = ["master_1`},
		{name: "placeholder host from a node group label with '_'",
			edits:   []edit{{`node_group "fast" {`, `node_group "fast_io" {`}},
			summary: "Invalid host name (RFC 1123)", at: `node_group "fast_io" {`},
		{name: "';' in an attribute value",
			edits:   []edit{{rackR1, `attributes      = { rack = "r1;gpu:true" }`}},
			summary: "Invalid Mesos attribute value", at: `rack = "r1;gpu:true"`},
		{name: "':' in an attribute value",
			edits:   []edit{{rackR1, `attributes      = { rack = "r1:x" }`}},
			summary: "Invalid Mesos attribute value", at: `rack = "r1:x"`},
		{name: "set as an attribute value",
			edits:   []edit{{rackR1, `attributes      = { rack = "{a,b}" }`}},
			summary: "Invalid Mesos attribute value", at: `rack = "{a,b}"`},
		{name: "newline in an attribute value",
			edits:   []edit{{rackR1, `attributes      = { rack = "r1\n" }`}},
			summary: "Invalid Mesos attribute value", at: `rack = "r1\n"`},
		{name: "range as an attribute value",
			edits: []edit{{rackR1, `attributes      = { rack = "r1", ports = "[1000-2000]" }`}}},
		{name: "path in an attribute name",
			edits:   []edit{{rackR1, `attributes      = { "../../init/x" = "r1" }`}},
			summary: "Invalid Mesos attribute name", at: `"../../init/x" = "r1"`},
		{name: "';' in an attribute name",
			edits:   []edit{{rackR1, `attributes      = { "a;b" = "r1" }`}},
			summary: "Invalid Mesos attribute name", at: `"a;b" = "r1"`},
		{name: "':' in a storage profile attribute name",
			edits:   []edit{{`storage    = "shared"`, `storage    = "shared"` + "\n  attribute  = \"disk:type\""}},
			summary: "Invalid Mesos attribute name", at: `attribute  = "disk:type"`},
		{name: "carriage return in the stats password",
			edits:   []edit{{password, `default     = "change-me\r\n  stats auth evil:evil"`}},
			summary: "Invalid HAProxy token", at: statsAuth, secret: "change-me"},
		{name: "'#' in the stats password",
			edits:   []edit{{password, `default     = "change#me-please"`}},
			summary: "Invalid HAProxy token", at: statsAuth, secret: "change#me"},
		{name: "quote in the stats user",
			edits:   []edit{{statsAuth, `stats_auth = "ad\"min:${var.stats_password}"`}},
			summary: "Invalid HAProxy token", at: `stats_auth = "ad\"min`, secret: "change-me"},
		{name: "newline in a repo base_url",
			edits:   []edit{{`base_url = "${local.yum}/repos/mesos/0.22.0/"`, `base_url = "${local.yum}/repos/mesos/0.22.0/\ngpgcheck=0"`}},
			summary: "Invalid URL", at: `gpgcheck=0"`},
		{name: "path in a repo label",
			edits:   []edit{{`repo "mesos-previous" {`, `repo "../mesos-previous" {`}, {`repos   = [repo.mesos-previous]`, `repos   = [repo.mesos]`}},
			summary: "Invalid file name", at: `repo "../mesos-previous" {`},
		{name: "control character in a template annotation",
			edits:   []edit{{`network   = "VM Network"`, `network   = "VM Network"` + "\n  annotation = \"a\\u0001b\""}},
			summary: "Invalid XML text", at: `annotation = "a\u0001b"`},
		{name: "control character in a vApp property label",
			edits:   []edit{{`label       = "Storage I/O profile"`, `label       = "Storage\u0007I/O profile"`}},
			summary: "Invalid XML text", at: `property "storage_profile" {`},
		{name: "bad environment variable name",
			edits:   []edit{{`cmd         = "/opt/hadoop/bin/yarn resourcemanager"`, `cmd         = "/opt/hadoop/bin/yarn resourcemanager"` + "\n  env = { \"A=B\" = \"x\" }"}},
			summary: "Invalid environment variable name", at: `env = { "A=B"`},
		{name: "escape character in an app command",
			edits:   []edit{{`cmd         = "/opt/hadoop/bin/yarn resourcemanager"`, `cmd         = "/opt/hadoop/bin/yarn\u001b[2J resourcemanager"`}},
			summary: "Invalid JSON string", at: `cmd         = "/opt/hadoop/bin/yarn\u001b`},
		{name: "blank in a health check path",
			edits:   []edit{{`path     = "/"`, `path     = "/ HTTP/1.0"`}},
			summary: "Invalid URL path", at: "health_check {\n    protocol = \"HTTP\""},
		{name: "registry with a path",
			edits:   []edit{{`registry       = "registry.localdomain:5000"`, `registry       = "registry.localdomain:5000/x y"`}},
			summary: "Invalid host[:port]", at: `registry       = "registry.localdomain:5000/x y"`},
		{name: "newline in a vcenter folder",
			edits:   []edit{{`folder         = "bde/templates"`, `folder         = "bde/templates\n"`}},
			summary: "Invalid single line", at: `folder         = "bde/templates\n"`},
	}
	base := exampleHCL(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := applyEdits(t, base, tc.edits)
			dir := siteDir(t, text)
			d, diags := sitedef.Load(dir, sitedef.Options{})
			if diags.HasErrors() {
				t.Fatalf("loading: %s", diagText(diags))
			}
			_, diags = Compile(d, nil) // validate: no facts
			errs := errorsOf(diags)
			if tc.secret != "" && strings.Contains(diagText(diags), tc.secret) {
				t.Errorf("a diagnostic shows the sensitive value:%s", diagText(diags))
			}
			wantDiagAt(t, text, tc.at, tc.summary, errs, diags)
		})
	}
}

// TestHAProxyAcceptsTokens renders haproxy.cfg with a stats_auth of every
// printable character the HAProxy token check lets through, and host names
// at the limits of RFC 1123, and has haproxy -c judge each file.
func TestHAProxyAcceptsTokens(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is needed (apt-get install haproxy): %v", err)
	}
	var allowed strings.Builder
	for r := rune(0x21); r < 0x7f; r++ {
		if SyntaxHAProxyToken.Check(string(r)) == "" && r != ':' {
			allowed.WriteRune(r)
		}
	}
	label63 := strings.Repeat("a", 62) + "9"
	long := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 57) + ".x"
	if SyntaxHostname.Check(long) != "" || len(long) > 253 {
		t.Fatalf("test host name %d long is refused: %s", len(long), SyntaxHostname.Check(long))
	}
	hcl := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(allowed.String())
	text := applyEdits(t, exampleHCL(t), []edit{
		{`stats_auth = "admin:${var.stats_password}"`, `stats_auth = "u` + hcl + `:p` + hcl + `"`},
		{`hosts     = ["master-1.localdomain", "master-2.localdomain", "master-3.localdomain"]`, `hosts = ["` + long + `", "10.0.0.1", "M-2"]`},
	})
	p, diags, _ := compileText(t, text, nil)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("the compiler refuses what haproxy accepts:%s", diagText(errs))
	}
	n := 0
	for _, f := range p.Files {
		if path.Base(f.Path) != "haproxy.cfg" {
			continue
		}
		n++
		if !strings.Contains(string(f.Data), "stats auth u"+allowed.String()+":p") {
			t.Fatalf("%s lacks the stats auth:\n%s", f.Path, f.Data)
		}
		cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(cfg, f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-c", "-dr", "-f", cfg).CombinedOutput(); err != nil {
			t.Errorf("haproxy -c rejects %s: %v\n%s\n%s", f.Path, err, out, f.Data)
		}
	}
	if n == 0 {
		t.Fatal("no haproxy.cfg rendered")
	}
}

func TestSyntaxes(t *testing.T) {
	cases := []struct {
		syn  Syntax
		in   string
		good bool
	}{
		{SyntaxHostname, "a.b-c.d", true},
		{SyntaxHostname, "a..b", false},
		{SyntaxHostname, "-a.b", false},
		{SyntaxHostname, "a\nb", false},
		{SyntaxHostname, strings.Repeat("a", 64), false},
		{SyntaxHostPort, "reg:5000", true},
		{SyntaxHostPort, "reg:70000", false},
		{SyntaxMesosAttrValue, "r1", true},
		{SyntaxMesosAttrValue, "2.5", true},
		{SyntaxMesosAttrValue, "[1-2,5-9]", true},
		{SyntaxMesosAttrValue, "{a}", false},
		{SyntaxMesosAttrValue, "a;b:c", false},
		{SyntaxMesosAttrName, "..", false},
		{SyntaxMesosAttrName, "a/b", false},
		{SyntaxXML, "tab\tok", true},
		{SyntaxXML, "\ufffe", false},
		{SyntaxXML, "bad\xff", false},
		{SyntaxJSON, "line\nline", true},
		{SyntaxJSON, "\x1b[31m", false},
		{SyntaxJSON, "\u2028", false},
		{SyntaxShellWord, "/usr/bin/marathon", true},
		{SyntaxShellWord, "$(reboot)", false},
		{SyntaxEnvName, "JAVA_OPTS", true},
		{SyntaxEnvName, "1X", false},
		{SyntaxLine, "a\rb", false},
	}
	for _, tc := range cases {
		why := tc.syn.Check(tc.in)
		if (why == "") != tc.good {
			t.Errorf("%s %q: good=%v, got %q", tc.syn.Name, tc.in, tc.good, why)
		}
		if why != "" && strings.Contains(why, tc.in) && len(tc.in) > 2 {
			t.Errorf("%s: the reason %q shows the value", tc.syn.Name, why)
		}
	}
}

// TestSinksDocumented keeps the destination table of docs/compiler.md in
// step with sinks.
func TestSinksDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "docs", "compiler.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sinks {
		var names []string
		for _, syn := range s.Syntaxes {
			names = append(names, syn.Name)
		}
		row := "| " + s.Attr + " | " + s.Files + " | " + strings.Join(names, ", ") + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/compiler.md lacks the row\n%s", row)
		}
	}
}
