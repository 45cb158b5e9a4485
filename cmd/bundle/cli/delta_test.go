package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/manifest"
)

// twoReleases builds the example's release 1 and, with --base on release
// 1's archive, release 2 and its delta, as TestTwoReleases builds them.
func twoReleases(t *testing.T) (dist, r1, r2, d2 string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "examples", "mesos-site", "site.hcl"))
	must0(t, err)
	r2src := strings.Replace(string(src), "  registry       = \"registry.localdomain:5000\"\n", "", 1)
	dir1, dir2 := filepath.Join(t.TempDir(), "r1"), filepath.Join(t.TempDir(), "r2")
	writeExample(t, dir1)
	writeExample(t, dir2)
	must0(t, os.WriteFile(filepath.Join(dir1, "site.hcl"), []byte(release1(t, r2src)), 0o644))
	must0(t, os.WriteFile(filepath.Join(dir2, "site.hcl"), []byte(r2src), 0o644))
	dist = filepath.Join(t.TempDir(), "dist")
	build := func(dir string, extra ...string) string {
		var stdout string
		for _, args := range [][]string{{"lock", dir, "-q"}, append([]string{"build", dir, "-o", dist, "--no-cache", "--offline"}, extra...)} {
			code, out, stderr := run(t, args...)
			if code != ExitOK {
				t.Fatalf("bundle %v: exit %d\n%s%s", args, code, out, stderr)
			}
			stdout = out
		}
		return stdout
	}
	build(dir1)
	r1 = filepath.Join(dist, "mesos-site-2015.02.0")
	testutil.CopyFiles(t, filepath.Join(dir2, "site"), filepath.Join(r1, "serengeti", "www", "distros", "manifest"))
	out := build(dir2, "--base", r1+".tar.zst")
	if !strings.Contains(out, "delta: ") || !strings.Contains(out, "against mesos-site-2015.02.0") {
		t.Fatalf("build --base says:\n%s", out)
	}
	return dist, r1, filepath.Join(dist, "mesos-site-2015.03.1"), filepath.Join(dist, "mesos-site-2015.03.1.delta")
}

func dirBytes(t *testing.T, dir string) (n int64) {
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TestDeltaCLI: the example's release 2 as a delta against release 1:
// verified alone and against the base in each form, refused against
// the wrong base or a base that lost a file, and merged byte for byte
// into what the full build wrote.
func TestDeltaCLI(t *testing.T) {
	dist, r1, r2, d2 := twoReleases(t)
	full, _ := os.Stat(r2 + ".tar.zst")
	t.Logf("release 2: bundle directory %d bytes, archive %d bytes; delta against release 1 %d bytes", dirBytes(t, r2), full.Size(), dirBytes(t, d2))
	if dirBytes(t, d2) >= full.Size() {
		t.Errorf("the delta (%d bytes) is no smaller than the full archive (%d)", dirBytes(t, d2), full.Size())
	}
	code, stdout, stderr := run(t, "verify", d2)
	if code != ExitOK || !strings.Contains(stdout, "OK delta mesos-site-2015.03.1 against mesos-site-2015.02.0") || !strings.Contains(stdout, "the base not checked") {
		t.Fatalf("verify the delta alone: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, base := range []struct{ path, want string }{
		{r1, "the base verified"}, {r1 + ".tar.zst", "the base verified"}, {filepath.Join(r1, manifest.FileName), "its files not checked"},
	} {
		code, stdout, stderr := run(t, "verify", d2, "--base", base.path)
		if code != ExitOK || !strings.Contains(stdout, base.want) {
			t.Fatalf("verify --base %s: exit %d\n%s%s", base.path, code, stdout, stderr)
		}
	}
	// The wrong base: release 2 itself.
	code, stdout, stderr = run(t, "verify", d2, "--base", r2)
	if code != ExitUser || !strings.Contains(stdout, "wrong base: it is mesos-site-2015.03.1") {
		t.Fatalf("wrong base: exit %d\n%s%s", code, stdout, stderr)
	}
	// A file the delta expects in the base removed.
	broken := filepath.Join(t.TempDir(), "mesos-site-2015.02.0")
	if out, err := exec.Command("cp", "-a", r1, broken).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	rpms, _ := filepath.Glob(filepath.Join(broken, "serengeti", "www", "yum", "repos", "*", "*", "*.rpm"))
	if len(rpms) == 0 {
		t.Fatal("no RPM in release 1")
	}
	must0(t, os.Remove(rpms[0]))
	rel, _ := filepath.Rel(broken, rpms[0])
	merged := filepath.Join(t.TempDir(), "merged")
	code, stdout, stderr = run(t, "merge", broken, d2, "-o", merged)
	if code != ExitUser || !strings.Contains(stdout, filepath.ToSlash(rel)) || !strings.Contains(stderr, "nothing was written") {
		t.Fatalf("merge onto a base without %s: exit %d\n%s%s", rel, code, stdout, stderr)
	}
	if _, err := os.Stat(merged); err == nil {
		t.Fatal("a refused merge wrote its output directory")
	}
	// Merge onto release 1's archive: release 2, byte for byte.
	code, stdout, stderr = run(t, "merge", r1+".tar.zst", d2, "-o", merged)
	if code != ExitOK || !strings.Contains(stdout, "Merged mesos-site-2015.03.1") {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	if out, err := exec.Command("diff", "-r", r2, filepath.Join(merged, "mesos-site-2015.03.1")).CombinedOutput(); err != nil {
		t.Fatalf("the merged bundle differs from the full build: %v\n%s", err, out)
	}
	if code, stdout, stderr := run(t, "verify", filepath.Join(merged, "mesos-site-2015.03.1")); code != ExitOK {
		t.Fatalf("verify the merged bundle: exit %d\n%s%s", code, stdout, stderr)
	}
	_ = dist
}

// TestDeployDelta: deploy of the example's release 2 as a delta against
// release 1 checks that the site holds release 1 and refuses otherwise,
// naming what is missing, before anything is planned or changed.
func TestDeployDelta(t *testing.T) {
	_, r1, r2, d2 := twoReleases(t)
	dsDir := simDatastore(t)
	args := func(extra ...string) []string {
		return append([]string{"deploy", d2, "--base", r1 + ".tar.zst", "--datastore-path", "site", "--no-cluster-config", "--work-dir", t.TempDir()}, extra...)
	}
	refused := func(what, want string) {
		t.Helper()
		code, stdout, stderr := run(t, args()...)
		if code != ExitUser || !strings.Contains(stderr, want) || strings.Contains(stdout, "Plan:") {
			t.Fatalf("%s: exit %d, want 1 with %q\n%s%s", what, code, want, stdout, stderr)
		}
	}
	// Nothing deployed yet.
	refused("an empty site", "no bundle is deployed there")
	if code, stdout, stderr := run(t, "deploy", d2, "--datastore-path", "site", "--no-cluster-config"); code != ExitUsage || !strings.Contains(stderr, "give --base") {
		t.Fatalf("a delta without --base: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, "deploy", r1, "--datastore-path", "site", "--no-cluster-config"); code != ExitOK {
		t.Fatalf("deploy release 1: exit %d\n%s%s", code, stdout, stderr)
	}
	// A file the release takes from the base gone from the site's state.
	statePath := filepath.Join(dsDir, "site", ".bundle-state.json")
	state, err := os.ReadFile(statePath)
	must0(t, err)
	var st struct {
		Files map[string]string `json:"files"`
	}
	must0(t, json.Unmarshal(state, &st))
	var rpm string
	for p := range st.Files {
		if strings.HasSuffix(p, ".rpm") && strings.Contains(p, "zookeeper") {
			rpm = p
		}
	}
	if rpm == "" {
		t.Fatalf("no zookeeper RPM in the state: %v", st.Files)
	}
	must0(t, os.WriteFile(statePath, []byte(strings.Replace(string(state), `"`+rpm+`"`, `"`+rpm+`.gone"`, 1)), 0o644))
	refused("a base file missing on the site", "missing: "+rpm)
	must0(t, os.WriteFile(statePath, state, 0o644))

	code, stdout, stderr := run(t, args()...)
	if code != ExitOK || !strings.Contains(stdout, "Deployed bundle mesos-site 2015.03.1") {
		t.Fatalf("deploy the delta: exit %d\n%s%s", code, stdout, stderr)
	}
	// The site now holds release 2, as deploying it in full says.
	if code, stdout, stderr := run(t, "deploy", r2, "--datastore-path", "site", "--no-cluster-config"); code != ExitOK || !strings.Contains(stdout, "No changes") {
		t.Fatalf("deploy release 2 after the delta: exit %d\n%s%s", code, stdout, stderr)
	}
	// And is no longer the delta's base.
	refused("the wrong base on the site", "the site holds mesos-site 2015.03.1")
}
