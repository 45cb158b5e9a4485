package vcenter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployKeepsWhatTheManifestPointsAt: release 1 uploaded a 0.21.0 repo
// and its .repo file; release 2 no longer carries them but its manifest
// still has the entry pointing there (kept from the site's manifest).
// Deploy keeps them, with a warning, and deletes only what no entry points
// at.
func TestDeployKeepsWhatTheManifestPointsAt(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	r1 := baseSpec("2015.02.0")
	r1.templates = nil
	old := map[string]string{
		"serengeti/www/yum/mesos-old.repo":                         "[mesos-old]\nname=mesos-old\nbaseurl=https://bde.localdomain/yum/repos/mesos/0.21.0/\n",
		"serengeti/www/yum/repos/mesos/0.21.0/mesos-0.21.0.rpm":    "rpm 0.21.0",
		"serengeti/www/yum/repos/mesos/0.21.0/repodata/repomd.xml": "<repomd/>",
		"serengeti/www/yum/dropped.repo":                           "[dropped]\n",
	}
	for p, c := range old {
		r1.files[p] = []byte(c)
	}
	cfg := s.config(t, r1.target, Overrides{})
	if _, err := Deploy(ctx, r1.write(t, t.TempDir()), cfg, deployOpts()); err != nil {
		t.Fatal(err)
	}
	r2 := baseSpec("2015.03.1")
	r2.templates = nil
	r2.files["serengeti/www/distros/manifest"] = []byte(`[{"name":"mesos","vendor":"MESOS","version":"0.22.0","packages":[{"roles":["mesos_master"],"package_repos":["https://bde.localdomain/yum/mesos.repo"]}]},
{"name":"mesos-old","vendor":"MESOS","version":"0.21.0","packages":[{"roles":["mesos_master"],"package_repos":["https://bde.localdomain/yum/mesos-old.repo"]}]}]` + "\n")
	out, err := Deploy(ctx, r2.write(t, t.TempDir()), cfg, deployOpts())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(s.dsDir(t), "bundles", "mesos-site")
	for p := range old {
		_, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		if p == "serengeti/www/yum/dropped.repo" {
			if err == nil {
				t.Errorf("%s, which no entry points at, was not deleted", p)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s was deleted though the manifest points at it: %v", p, err)
		}
	}
	if out.Deleted != 1 || len(out.Plan.Warnings) != 1 || !strings.Contains(out.Plan.Warnings[0], "3 files the bundle no longer carries are kept") {
		t.Errorf("deleted %d, warnings %q", out.Deleted, out.Plan.Warnings)
	}
}
