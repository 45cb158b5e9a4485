package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSuggestions: every mistyped name or value validate meets is answered
// with the one the user meant, and a name that resembles nothing gets no
// suggestion at all.
func TestSuggestions(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // replace old with new in baseSite
		extra    string
		summary  string
		want     string // the exact suggestion, "" for none
	}{
		{name: "attribute synonym memory", old: "    memory_mb       = 4096\n    storage_profile", new: "    memory          = 4096\n    storage_profile", summary: "Unsupported argument", want: `Did you mean "memory_mb"?`},
		{name: "attribute synonym in an app", old: "mem       = 64", new: "memory    = 64", summary: "Unsupported argument", want: `Did you mean "mem"?`},
		{name: "cpu in an app", old: "cpus      = 0.1", new: "cpu       = 0.1", summary: "Unsupported argument", want: `Did you mean "cpus"?`},
		{name: "cpus in a node group", old: "    cpu             = 2\n    memory_mb       = 4096\n    storage_profile", new: "    cpus            = 2\n    memory_mb       = 4096\n    storage_profile", summary: "Unsupported argument", want: `Did you mean "cpu"?`},
		{name: "singular gpg_key", old: `packages = ["rpms"]`, new: `packages = ["rpms"]` + "\n  gpg_key  = [\"k.asc\"]", summary: "Unsupported argument", want: `Did you mean "gpg_keys"?`},
		{name: "attribute in another case", old: "    memory_mb       = 4096\n    storage_profile", new: "    Memory_MB       = 4096\n    storage_profile", summary: "Unsupported argument", want: `Did you mean "memory_mb"?`},
		{name: "url in a repo", old: `base_url = "${local.yum}`, new: `url = "${local.yum}`, summary: "Unsupported argument", want: `Did you mean "base_url"?`},
		{name: "attribute like nothing", old: "mem       = 64", new: "mem       = 64\n  zzzzzzzz  = 1", summary: "Unsupported argument"},
		{name: "mistyped variable", old: "${var.pw}", new: "${var.pww}", summary: "Unsupported attribute", want: `Did you mean "pw"?`},
		{name: "mistyped local", old: "${local.yum}", new: "${local.ym}", summary: "Unsupported attribute", want: `Did you mean "yum"?`},
		{name: "instance type in lower case", old: "    cpu             = 2\n    memory_mb       = 4096\n    storage_profile", new: "    cpu             = 2\n    memory_mb       = 4096\n    instance_type   = \"large\"\n    storage_profile", summary: "Invalid instance type", want: `Did you mean "LARGE"?`},
		{name: "ha flag", old: "    cpu             = 2\n    memory_mb       = 4096\n    storage_profile", new: "    cpu             = 2\n    memory_mb       = 4096\n    ha              = \"On\"\n    storage_profile", summary: "Invalid HA flag", want: `Did you mean "on"?`},
		{name: "storage type", old: `storage = "shared"`, new: `storage = "shard"`, summary: "Invalid storage type", want: `Did you mean "shared"?`},
		{name: "media types", old: "epoch   = 1426032000", new: "epoch   = 1426032000\n  image_media_types = \"OCI\"", summary: "Invalid image_media_types", want: `Did you mean "oci"?`},
		{name: "constraint value in another case", old: "mem       = 64", new: "mem       = 64\n  constraints = [[\"storage_profile\", \"CLUSTER\", \"VSAN\"]]", summary: "Unsatisfiable constraints", want: `No slave has storage_profile:VSAN. Did you mean "vsan"?`},
		{name: "constraint field mistyped", old: "mem       = 64", new: "mem       = 64\n  constraints = [[\"storage_profil\", \"CLUSTER\", \"vsan\"]]", summary: "Unsatisfiable constraints", want: `No slave carries attribute "storage_profil". Did you mean "storage_profile"?`},
		{name: "constraint value like nothing", old: "mem       = 64", new: "mem       = 64\n  constraints = [[\"storage_profile\", \"CLUSTER\", \"nfs-gold-tier\"]]", summary: "Unsatisfiable constraints"},
		{name: "role", old: `roles           = ["mesos_slave"]`, new: `roles           = ["mesos-slave"]`, summary: "Unknown role", want: `Did you mean "mesos_slave"?`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(baseSite, tc.old) {
				t.Fatalf("case edits %q, which the base definition lacks", tc.old)
			}
			dir := writeSite(t, strings.Replace(baseSite, tc.old, tc.new, 1)+tc.extra)
			code, out, errs := run(t, "validate", dir, "--json")
			if code != ExitUser {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitUser, out, errs)
			}
			var res struct {
				Diagnostics []jsonDiag `json:"diagnostics"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			var found *jsonDiag
			for i, d := range res.Diagnostics {
				if d.Summary == tc.summary {
					found = &res.Diagnostics[i]
					break
				}
			}
			if found == nil {
				t.Fatalf("no %q diagnostic:\n%s", tc.summary, out)
			}
			switch {
			case tc.want == "" && strings.Contains(found.Detail, "Did you mean"):
				t.Errorf("a suggestion where none fits:\n%s", found.Detail)
			case tc.want != "" && !strings.Contains(found.Detail, tc.want):
				t.Errorf("detail lacks %q:\n%s", tc.want, found.Detail)
			case strings.Count(found.Detail, "Did you mean") > 1:
				t.Errorf("more than one suggestion:\n%s", found.Detail)
			}
		})
	}
}
