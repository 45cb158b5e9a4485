package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDiagnosticsGolden: validate's text output for one mistake of each
// kind whose message names the cause, folds what follows from it, or
// suggests the name meant, as a new user sees it (testdata/diagnostics;
// make golden rewrites them).
func TestDiagnosticsGolden(t *testing.T) {
	cases := []struct {
		name     string
		old, new string
		extra    string
	}{
		{name: "package-dir-missing", old: `packages = ["rpms"]`, new: `packages = ["rpms/mesos-0.21"]`},
		{name: "package-dir-mistyped", old: `packages = ["rpms"]`, new: `packages = ["rpm/*.rpm"]`},
		{name: "attribute-synonym", old: "    memory_mb       = 4096\n    storage_profile", new: "    memory          = 4096\n    storage_profile"},
		{name: "variable-mistyped", old: "${var.pw}", new: "${var.pww}"},
		{name: "constraint-value-case", old: "mem       = 64", new: "mem       = 64\n  constraints = [[\"storage_profile\", \"CLUSTER\", \"VSAN\"]]"},
		{name: "not-enough-capacity", old: "instances = 1\n  cpus      = 0.1", new: "instances = 9\n  cpus      = 1\n  constraints = [[\"hostname\", \"UNIQUE\"]]"},
		{name: "image-arm64-only", extra: "\nimage \"web\" {\n  ref      = \"nginx:1.7.9\"\n  platform = \"linux/arm64\"\n}\n\nvcenter \"site\" {\n  registry = \"registry.localdomain:5000\"\n}\n"},
		{name: "disk-missing", extra: "\nvm_template \"centos\" {\n  guest_os  = \"centos64Guest\"\n  cpu       = 2\n  memory_mb = 4096\n  disk      = \"disks/boot.vmdk\"\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(baseSite, tc.old) {
				t.Fatalf("case edits %q, which the base definition lacks", tc.old)
			}
			dir := writeSite(t, strings.Replace(baseSite, tc.old, tc.new, 1)+tc.extra)
			// From --json, so that the golden text does not depend on
			// how the temporary directory's length wraps the lines.
			_, out, _ := run(t, "validate", dir, "--json")
			var res struct {
				Diagnostics []jsonDiag `json:"diagnostics"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, d := range res.Diagnostics {
				at := ""
				if r := d.Range; r != nil {
					at = fmt.Sprintf(" (%s:%d,%d)", filepath.Base(r.Filename), r.Start.Line, r.Start.Column)
				}
				fmt.Fprintf(&b, "%s: %s%s\n  %s\n", d.Severity, d.Summary, at, d.Detail)
			}
			got := strings.ReplaceAll(b.String(), dir, "$DIR")
			golden := filepath.Join("testdata", "diagnostics", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("validate printed:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}
