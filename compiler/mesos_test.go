package compiler

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// wrapperLoop is mesos-init-wrapper's attribute loop (formats §2), printing
// the --attributes value it passes.
const wrapperLoop = `set -e
etc_slave="$1"
attributes=()
for f in "$etc_slave"/attributes/*
do [[ ! -s $f ]] || attributes+=( "$(basename "$f")":"$(cat "$f")" )
done
if [[ ${#attributes[@]} -gt 0 ]]
then
  formatted="$(printf ';%s' "${attributes[@]}")"
  printf '%s' "${formatted:1}"
fi
`

// TestAttributesThroughWrapper writes each slave group's attribute files to
// disk and joins them with mesos-init-wrapper's own loop.
func TestAttributesThroughWrapper(t *testing.T) {
	want := map[string]string{
		"fast": "rack:r1;storage_profile:vsan",
		"bulk": "rack:r2;storage_profile:vmax",
	}
	p := examplePlan(t)
	for group, expect := range want {
		dir := t.TempDir()
		prefix := "clusters/mesos01/nodes/" + group + "/etc/mesos-slave/"
		n := 0
		for _, f := range p.Files {
			rel, ok := strings.CutPrefix(f.Path, prefix)
			if !ok || !strings.HasPrefix(rel, "attributes/") {
				continue
			}
			n++
			dst := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if n == 0 {
			t.Fatalf("group %s: no attribute files", group)
		}
		cmd := exec.Command("bash", "-c", wrapperLoop, "wrapper", dir)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		if string(out) != expect {
			t.Errorf("group %s: --attributes=%q, want %q", group, out, expect)
		}
	}
}

// TestPackagePaths checks that every launcher path an init job execs comes
// from the file list of the package the bundle ships, not from a version
// number; the version table is the fallback without RPM facts.
func TestPackagePaths(t *testing.T) {
	previous := strings.Replace(exampleHCL(t), "distro   = distro.mesos\n  marathon = \"0.8.0\"", "distro   = distro.mesos-previous\n  marathon = \"0.7.5\"", 1)
	// Not the running cluster the example moves: a cluster on the kept
	// version.
	previous = strings.Replace(previous, "running {\n    distro  = \"mesos\"\n    version = \"0.21.0\"\n  }", "", 1)
	for _, tc := range []struct {
		name, text string
		facts      bool
		mutate     func(*Facts)
		want       map[string]string
	}{
		// Chronos 2.3.0-0.1.20141121000021 was built before chronos-pkg
		// moved to /usr: its launcher is /usr/local/bin/chronos.
		{"0.22 packages", exampleHCL(t), true, nil, map[string]string{
			"marathon.conf": "exec /usr/bin/marathon\n", "chronos.conf": "exec /usr/local/bin/chronos\n",
			"mesos-master.conf": "exec /usr/bin/mesos-init-wrapper master\n"}},
		{"0.21 packages", previous, true, nil, map[string]string{
			"marathon.conf": "exec /usr/local/bin/marathon\n", "chronos.conf": "exec /usr/local/bin/chronos\n"}},
		{"a Chronos built in 2015", exampleHCL(t), true, setFiles("chronos", "/etc/init/chronos.conf", "/usr/bin/chronos"), map[string]string{
			"chronos.conf": "exec /usr/bin/chronos\n"}},
		{"a wrapper elsewhere", exampleHCL(t), true, setFiles("mesos", "/usr/sbin/mesos-master", "/usr/sbin/mesos-slave", "/opt/mesosphere/bin/mesos-init-wrapper"), map[string]string{
			"mesos-master.conf": "exec /opt/mesosphere/bin/mesos-init-wrapper master\n"}},
		{"no facts", previous, false, nil, map[string]string{
			"marathon.conf": "exec /usr/local/bin/marathon\n", "chronos.conf": "exec /usr/local/bin/chronos\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *Plan
			var diags hcl.Diagnostics
			if tc.facts {
				p, diags = compileFacts(t, tc.text, tc.mutate)
			} else {
				p, diags, _ = compileText(t, tc.text, nil)
			}
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("unexpected errors:%s", diagText(errs))
			}
			for job, want := range tc.want {
				got := string(planFile(t, p, "clusters/mesos01/nodes/master/etc/init/"+job).Data)
				if !strings.HasSuffix(got, want) {
					t.Errorf("%s:\n%s\nwant it to end in %q", job, got, want)
				}
			}
		})
	}
}
