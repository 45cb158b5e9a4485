package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/hashicorp/hcl/v2"
)

// TestHAProxyConfigs runs every rendered haproxy.cfg through haproxy -c.
// The bundle's copy names the planned (placeholder) hosts, which do not
// resolve here, so -dr lets the check ignore resolution failures; on a node
// the cookbook puts the real host names in.
func TestHAProxyConfigs(t *testing.T) {
	bin := testutil.RequireTool(t, "haproxy", "haproxy")
	n := 0
	for _, f := range examplePlan(t).Files {
		if path.Base(f.Path) != "haproxy.cfg" {
			continue
		}
		n++
		cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(cfg, f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-c", "-dr", "-f", cfg).CombinedOutput()
		if err != nil {
			t.Errorf("haproxy -c rejects %s: %v\n%s", f.Path, err, out)
		}
		if !f.Sensitive {
			t.Errorf("%s holds the stats password but is not marked sensitive", f.Path)
		}
		if !bytes.Contains(f.Data, []byte("stats auth admin:change-me\n")) {
			t.Errorf("%s lacks the stats auth of the definition", f.Path)
		}
	}
	if n == 0 {
		t.Fatal("no haproxy.cfg rendered")
	}
}

// TestJSONRoundTrip checks that every rendered JSON file parses and that
// unmarshal+marshal is stable.
func TestJSONRoundTrip(t *testing.T) {
	n := 0
	for _, f := range examplePlan(t).Files {
		if !strings.HasSuffix(f.Path, ".json") && f.Path != manifestPath && f.Path != specsMapPath {
			continue
		}
		n++
		var v1, v2 any
		if err := json.Unmarshal(f.Data, &v1); err != nil {
			t.Errorf("%s is not valid JSON: %v", f.Path, err)
			continue
		}
		b1, err := json.MarshalIndent(v1, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b1, &v2); err != nil {
			t.Fatal(err)
		}
		b2, _ := json.MarshalIndent(v2, "", "  ")
		if !reflect.DeepEqual(v1, v2) || !bytes.Equal(b1, b2) {
			t.Errorf("%s does not round-trip", f.Path)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, f.Data); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if err := json.Indent(&again, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		again.WriteByte('\n')
		if !bytes.Equal(again.Bytes(), f.Data) {
			t.Errorf("%s is not canonically indented", f.Path)
		}
	}
	if n < 8 {
		t.Fatalf("only %d JSON files rendered", n)
	}
}

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

// compileFacts compiles text with the stand-in facts changed by mutate.
func compileFacts(t *testing.T, text string, mutate func(*Facts)) (*Plan, hcl.Diagnostics) {
	t.Helper()
	dir := siteDir(t, text)
	d, diags := def.Load(dir, def.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diagText(diags))
	}
	f := gatherFacts(t, d, dir, exampleFacts())
	if mutate != nil {
		mutate(f)
	}
	return Compile(d, f)
}

// setFiles replaces the file list of package name in every repo.
func setFiles(name string, files ...string) func(*Facts) {
	return func(f *Facts) {
		for _, pkgs := range f.Packages {
			for i := range pkgs {
				if pkgs[i].Name == name {
					pkgs[i].Files = files
				}
			}
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

// TestImageRef checks the image reference with a site registry, with facts
// and without, on a cluster whose Docker pulls by digest (docker-io 1.6.2);
// TestDockerLoadRef covers Docker before 1.6.
func TestImageRef(t *testing.T) {
	const exampleReg = "\n  registry       = \"registry.localdomain:5000\""
	if !strings.Contains(exampleHCL(t), exampleReg) {
		t.Fatal("the example no longer names its site registry")
	}
	withReg := strings.Replace(exampleHCL(t), exampleReg, "\n  registry       = \"registry.site:5000\"", 1)
	noReg := strings.Replace(exampleHCL(t), exampleReg, "", 1)
	for _, tc := range []struct {
		name, text string
		facts      *Facts
		want       string
	}{
		{"registry", withReg, exampleFacts(), `"image": "registry.site:5000/library/nginx@` + fixedDigest + `"`},
		{"no registry", noReg, exampleFacts(), `"image": "library/nginx@` + fixedDigest + `"`},
		{"no facts", withReg, nil, `"image": "docker-archive:images/nginx-1.7.9.tar"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := compileDocker(t, tc.text, tc.facts, "1.6.2")
			for _, f := range p.Files {
				if f.Path == "clusters/mesos01/marathon/nginx.json" {
					if !strings.Contains(string(f.Data), tc.want) {
						t.Errorf("nginx.json lacks %s:\n%s", tc.want, f.Data)
					}
					return
				}
			}
			t.Fatal("nginx.json not rendered")
		})
	}
}

// TestManifestMerge: the site's manifest (the upgrade block) gives the
// entries the release keeps as they are, byte for byte (fields the bundle
// does not know included); the entry a distro block names is updated in
// place, not duplicated.
func TestManifestMerge(t *testing.T) {
	text := strings.Replace(exampleHCL(t), `manifest = "site/manifest"`, `manifest = "old/manifest"`, 1)
	old := `[{"name":"mesos","vendor":"MESOS","version":"0.21.0","packages":[{"roles":["mesos_master"],"package_repos":["https://bde.localdomain/yum/mesos.repo"]}]},
	{"name":"mesos-0.20","vendor":"MESOS","version":"0.20.1","packages":[{"roles":["mesos_master","mesos_slave"],"package_repos":["https://bde.localdomain/yum/mesos-0.20.repo"]}]},
	{"name":"cdh4","vendor":"CDH","version":"4.7.0","hveSupported":true,"extra":{"a":1},"packages":[{"roles":["hadoop_namenode"],"tarball":"cdh/4.7.0/cdh.tar.gz"}]}]`
	facts := exampleFacts()
	facts.Manifests["old/manifest"] = []byte(old)
	p, diags, _ := compileText(t, text, facts)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("unexpected errors:%s", diagText(errs))
	}
	var got []map[string]any
	for _, f := range p.Files {
		if f.Path == manifestPath {
			if err := json.Unmarshal(f.Data, &got); err != nil {
				t.Fatal(err)
			}
		}
	}
	var names []string
	for _, e := range got {
		names = append(names, fmt.Sprint(e["name"], "@", e["version"]))
	}
	if want := []string{"cdh4@4.7.0", "mesos@0.22.0", "mesos-0.20@0.20.1", "mesos-previous@0.21.0"}; !reflect.DeepEqual(names, want) {
		t.Errorf("manifest entries %v, want %v", names, want)
	}
	if !reflect.DeepEqual(got[0]["extra"], map[string]any{"a": 1.0}) || got[0]["hveSupported"] != true {
		t.Errorf("kept entry changed: %v", got[0])
	}
	if repos := fmt.Sprint(got[2]["packages"]); !strings.Contains(repos, "https://bde.localdomain/yum/mesos-0.20.repo") {
		t.Errorf("kept entry changed: %v", got[2])
	}
	for _, d := range p.Distros {
		if d.Name == "mesos" && d.Previous != "0.21.0" {
			t.Errorf("distro mesos: previous %q, want 0.21.0", d.Previous)
		}
	}
	if c := p.Clusters[0]; !c.Moves || c.Running == nil || c.Running.Version != "0.21.0" {
		t.Errorf("cluster %s: moves %v, running %+v; want a move from 0.21.0", c.Name, c.Moves, c.Running)
	}
}
