package cli

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The two values the sensitive variable takes: the second build's, and the
// first's (diff compares them).
const (
	secretA = "Zq9secretXk7"
	secretB = "Wv4hiddenYp2Q" // another length too
)

// secretVars declares the sensitive variable and a flag for conditionals.
const secretVars = `
variable "secret" {
  type      = string
  default   = "` + secretA + `"
  sensitive = true
}

variable "flag" {
  type    = bool
  default = true
}

locals {
  s1 = upper(var.secret)
  s2 = local.s1
  s3 = "${local.s2}-x"
}
`

// TestSensitiveDerivationsNeverShown: a value derived from a sensitive
// variable — through functions, templates, conditionals, for expressions,
// locals chains, hashes and encodings — never shows in any output: validate
// -v, build --plan (text and --json), build -v's log and result, bundle.json,
// inspect (text and --json), diff of two builds with different secrets
// (text and --json), diagnostics and their snippets. A derivation placed
// where the value would be printed readable (an app's id, a count, a repo's
// base_url) is refused, without quoting it.
func TestSensitiveDerivationsNeverShown(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	type edit struct{ old, new string }
	env := func(expr string) []edit {
		return []edit{{`  cmd         = "/opt/hadoop/bin/yarn resourcemanager"`, `  cmd         = "/opt/hadoop/bin/yarn resourcemanager"` + "\n  env         = { X = " + expr + " }"}}
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	cases := []struct {
		name    string
		edits   []edit
		derived func(s string) []string // the derived values that must not show
		refused string                  // the error summary, "" when the definition builds
	}{
		{name: "upper in env", edits: env("upper(var.secret)"), derived: func(s string) []string { return []string{strings.ToUpper(s)} }},
		{name: "template in env", edits: env(`"${var.secret}x"`)},
		{name: "conditional in env", edits: env(`var.flag ? var.secret : "x"`)},
		{name: "for expression in env", edits: env(`[for s in [var.secret] : s][0]`)},
		{name: "jsonencode in env", edits: env(`jsonencode({ a = var.secret })`)},
		{name: "locals chain in env", edits: env(`local.s3`), derived: func(s string) []string { return []string{strings.ToUpper(s)} }},
		{name: "lookup in env", edits: env(`lookup({ k = var.secret }, "k", "")`)},
		{name: "replace in env", edits: env(`replace(var.secret, "e", "3")`), derived: func(s string) []string { return []string{strings.ReplaceAll(s, "e", "3")} }},
		{name: "substr in env", edits: env(`substr(var.secret, 0, 6)`), derived: func(s string) []string { return []string{s[:6]} }},
		{name: "base64encode in env", edits: env(`base64encode(var.secret)`), derived: func(s string) []string { return []string{base64.StdEncoding.EncodeToString([]byte(s))} }},
		{name: "sha256 in env", edits: env(`sha256(var.secret)`), derived: func(s string) []string { return []string{sum(s)} }},
		{name: "length in env", edits: env(`tostring(length(var.secret) * 1000003)`), derived: func(s string) []string { return []string{strconv.Itoa(len(s) * 1000003)} }},
		{name: "cmd", edits: []edit{{`  cmd         = "/opt/hadoop/bin/yarn resourcemanager"`, `  cmd         = "/opt/hadoop/bin/yarn resourcemanager --token ${lower(var.secret)}"`}},
			derived: func(s string) []string { return []string{strings.ToLower(s)} }},
		{name: "description", edits: []edit{{`description = "Mesos`, `description = "${var.flag ? var.secret : "x"} Mesos`}}},
		{name: "node group attribute", edits: []edit{{`attributes      = { rack = "r1" }`, `attributes      = { rack = "r1", tok = sha256(var.secret) }`}},
			derived: func(s string) []string { return []string{sum(s)} }},
		{name: "storage profile value", edits: []edit{{`  datastores = ["vmax-*"]`, "  datastores = [\"vmax-*\"]\n  value      = lower(var.secret)"}, {`["storage_profile", "CLUSTER", "vmax"]]`, `["storage_profile", "CLUSTER", lower(var.secret)]]`}},
			derived: func(s string) []string { return []string{strings.ToLower(s)} }},
		{name: "host name", edits: []edit{{`"master-3.localdomain"]`, `"${lower(var.secret)}.localdomain"]`}},
			derived: func(s string) []string { return []string{strings.ToLower(s)} }},
		{name: "template property", edits: []edit{{`attributes      = { rack = "r1" }`, `attributes      = { rack = "r1" }` + "\n    template_properties = { role = upper(var.secret) }"}},
			derived: func(s string) []string { return []string{strings.ToUpper(s)} }},
		{name: "stats_auth", edits: []edit{{`stats_auth = "admin:${var.stats_password}"`, `stats_auth = "admin:${local.s3}"`}},
			derived: func(s string) []string { return []string{strings.ToUpper(s)} }},
		{name: "health check path", edits: []edit{{`    path     = "/"`, `    path     = "/${sha256(var.secret)}"`}},
			derived: func(s string) []string { return []string{sum(s)} }},
		// Refused where the value would be printed readable.
		{name: "app id", edits: []edit{{`  cmd         = "/opt/hadoop/bin/yarn resourcemanager"`, `  cmd         = "/opt/hadoop/bin/yarn resourcemanager"` + "\n  id          = \"/${lower(var.secret)}\""}},
			derived: func(s string) []string { return []string{strings.ToLower(s)} }, refused: "Sensitive value where it would be shown"},
		{name: "instances from length", edits: []edit{{"instances   = 3\n  cpus        = 4", "instances   = length(var.secret) - 9\n  cpus        = 4"}},
			refused: "Sensitive value where it would be shown"},
		{name: "repo base_url", edits: []edit{{`base_url = "${local.yum}/repos/mesos/0.22.0/"`, `base_url = "https://u:${lower(var.secret)}@bde.localdomain/yum/repos/mesos/0.22.0/"`}},
			derived: func(s string) []string { return []string{strings.ToLower(s)} }, refused: "Sensitive value where it would be shown"},
		{name: "vm template property default", edits: []edit{{`    label       = "Mesos roles of the node"`, "    label       = \"Mesos roles of the node\"\n    default     = upper(var.secret)"}},
			derived: func(s string) []string { return []string{strings.ToUpper(s)} }, refused: "Sensitive value where it would be shown"},
		// Errors about a derived value: the message never quotes it.
		{name: "invalid host name", edits: []edit{{`"master-3.localdomain"]`, `"${var.secret} x.localdomain"]`}}, refused: "Invalid host name (RFC 1123)"},
		{name: "unknown storage type", edits: []edit{{`storage    = "local"`, `storage    = lower(var.secret)`}},
			derived: func(s string) []string { return []string{strings.ToLower(s)} }, refused: "Invalid storage type"},
		{name: "function error", edits: []edit{{`  s3 = "${local.s2}-x"`, `  s3 = tonumber(local.s2)`}},
			derived: func(s string) []string { return []string{strings.ToUpper(s)} }, refused: "Invalid function argument"},
		{name: "regex error", edits: []edit{{`  s3 = "${local.s2}-x"`, `  s3 = regex("[${var.secret}", "x")`}}, refused: "Invalid function argument"},
		{name: "unknown constraint operator", edits: []edit{{`["storage_profile", "CLUSTER", "vmax"]]`, `["storage_profile", upper(var.secret), "vmax"]]`}},
			derived: func(s string) []string { return []string{strings.ToUpper(s)} }, refused: "Unknown constraint operator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := exampleSite(t)
			b, err := os.ReadFile(filepath.Join(dir, "site.hcl"))
			if err != nil {
				t.Fatal(err)
			}
			src := string(b) + secretVars
			for _, e := range tc.edits {
				if !strings.Contains(src, e.old) {
					t.Fatalf("the example has no %q", e.old)
				}
				src = strings.Replace(src, e.old, e.new, 1)
			}
			if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			var forbidden []string
			for _, s := range []string{secretA, secretB} {
				forbidden = append(forbidden, s)
				if tc.derived != nil {
					forbidden = append(forbidden, tc.derived(s)...)
				}
			}
			type output struct{ what, text string }
			var outs []output
			runAll := func(want int, args ...string) {
				t.Helper()
				code, stdout, stderr := run(t, args...)
				outs = append(outs, output{strings.Join(args, " "), stdout + stderr})
				if code != want {
					t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, stdout, stderr)
				}
			}
			if tc.refused != "" {
				for _, args := range [][]string{{"validate", dir}, {"validate", dir, "--json"}, {"validate", dir, "-v"}, {"build", dir, "--plan"}, {"build", dir, "--plan", "--json"}, {"lock", dir}} {
					runAll(ExitUser, args...)
				}
				if !strings.Contains(outs[0].text, "Error: "+tc.refused) {
					t.Errorf("validate does not refuse with %q:\n%s", tc.refused, outs[0].text)
				}
			} else {
				old, cur := filepath.Join(t.TempDir(), "old"), filepath.Join(t.TempDir(), "new")
				runAll(ExitOK, "validate", dir, "-v")
				runAll(ExitOK, "build", dir, "--plan")
				runAll(ExitOK, "build", dir, "--plan", "--json")
				runAll(ExitOK, "build", dir, "-o", old, "-v", "--var", "secret="+secretB)
				runAll(ExitOK, "build", dir, "-o", cur, "-v", "--json")
				bundle := filepath.Join(cur, "mesos-site-2015.03.1")
				manifest, err := os.ReadFile(filepath.Join(bundle, "bundle.json"))
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, output{"bundle.json", string(manifest)})
				runAll(ExitOK, "inspect", bundle)
				runAll(ExitOK, "inspect", bundle, "--json")
				runAll(ExitOK, "diff", filepath.Join(old, "mesos-site-2015.03.1"), bundle)
				runAll(ExitOK, "diff", filepath.Join(old, "mesos-site-2015.03.1"), bundle, "--json")
				if d := outs[len(outs)-2].text; !strings.Contains(d, "(sensitive value changed)") && !strings.Contains(d, " changed") {
					t.Errorf("diff shows no change:\n%s", d)
				}
			}
			for _, o := range outs {
				for _, f := range forbidden {
					if strings.Contains(o.text, f) {
						t.Errorf("%s shows %q", o.what, f)
					}
				}
			}
		})
	}
}
