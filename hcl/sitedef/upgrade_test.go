package sitedef

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpgradeBlocks: the upgrade block is read with its directory (the
// manifest path is relative to the file), at most once; a cluster's running
// block needs both its attributes.
func TestUpgradeBlocks(t *testing.T) {
	const base = "bundle \"q\" {\n  version = \"1\"\n}\n"
	for _, tc := range []struct{ name, src, err string }{
		{name: "one upgrade block", src: base + "upgrade {\n  manifest = \"site/manifest\"\n}\n"},
		{name: "two upgrade blocks", src: base + "upgrade {\n  manifest = \"a\"\n}\nupgrade {\n  manifest = \"b\"\n}\n", err: "Duplicate upgrade block"},
		{name: "upgrade without a manifest", src: base + "upgrade {\n}\n", err: "Missing required argument"},
		{name: "running without a version", src: base + "cluster \"c\" {\n  distro = \"x\"\n  running {\n    distro = \"mesos\"\n  }\n}\n", err: "Missing required argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			d, diags := Load(dir, Options{})
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.err) {
					t.Fatalf("diagnostics %v, want %q", diags, tc.err)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if d.Upgrade == nil || d.Upgrade.Manifest != "site/manifest" || d.Upgrade.Dir == "" || !filepath.IsAbs(d.Upgrade.Dir) {
				t.Errorf("upgrade %+v", d.Upgrade)
			}
		})
	}
}
