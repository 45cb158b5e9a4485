package compiler

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
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

// TestVersionedPaths checks that the upstart jobs and Chef overrides follow
// the version table: a Mesos 0.21 / Marathon 0.7 cluster gets /usr/local.
func TestVersionedPaths(t *testing.T) {
	text := exampleHCL(t)
	text = strings.Replace(text, "distro   = distro.mesos\n  marathon = \"0.8.0\"\n  chronos  = \"2.3.0\"", "distro   = distro.mesos-previous\n  marathon = \"0.7.5\"\n  chronos  = \"2.2.0\"", 1)
	p, diags, _ := compileText(t, text, exampleFacts())
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("unexpected errors:%s", diagText(errs))
	}
	files := map[string]string{}
	for _, f := range p.Files {
		files[f.Path] = string(f.Data)
	}
	for path, want := range map[string]string{
		"clusters/mesos01/nodes/master/etc/init/marathon.conf": "exec /usr/local/bin/marathon\n",
		"clusters/mesos01/nodes/master/etc/init/chronos.conf":  "exec /usr/local/bin/chronos\n",
		"clusters/mesos01/chef/master.json":                    `"master_bin": "/usr/local/sbin/mesos-master"`,
		"clusters/mesos01/spec.json":                           `"distroVersion": "0.21.0"`,
	} {
		if !strings.Contains(files[path], want) {
			t.Errorf("%s lacks %q:\n%s", path, want, files[path])
		}
	}
	p, _, _ = compileText(t, exampleHCL(t), exampleFacts())
	for _, f := range p.Files {
		if f.Path == "clusters/mesos01/nodes/master/etc/init/marathon.conf" && !strings.Contains(string(f.Data), "exec /usr/bin/marathon\n") {
			t.Errorf("Marathon 0.8.0 job:\n%s", f.Data)
		}
	}
}

// TestImageRef checks the image reference with a site registry, with facts
// and without.
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
			p, _, _ := compileText(t, tc.text, tc.facts)
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

// TestManifestMerge keeps a version found only in an existing manifest.
func TestManifestMerge(t *testing.T) {
	text := strings.Replace(exampleHCL(t), `keep    = ["0.21.0"]`, `keep    = ["0.21.0", "0.20.1"]
  manifest = "old/manifest"`, 1)
	old := `[{"name":"mesos-0.20","vendor":"MESOS","version":"0.20.1","packages":[{"roles":["mesos_master","mesos_slave"],"package_repos":["https://bde.localdomain/yum/mesos-0.20.repo"]}]},
	{"name":"cdh4","vendor":"CDH","version":"4.7.0","packages":[{"roles":["hadoop_namenode"],"package_repos":["http://x/cdh4.repo"]}]}]`
	facts := exampleFacts()
	facts.Manifests["old/manifest"] = []byte(old)
	p, diags, _ := compileText(t, text, facts)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("unexpected errors:%s", diagText(errs))
	}
	var got []manifestDistro
	for _, f := range p.Files {
		if f.Path == manifestPath {
			if err := json.Unmarshal(f.Data, &got); err != nil {
				t.Fatal(err)
			}
		}
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Name+"@"+e.Version)
	}
	if want := []string{"mesos@0.22.0", "mesos-0.20@0.20.1", "mesos-previous@0.21.0"}; !reflect.DeepEqual(names, want) {
		t.Errorf("manifest entries %v, want %v", names, want)
	}
	if got[1].Packages[0].PackageRepos[0] != "https://bde.localdomain/yum/mesos-0.20.repo" {
		t.Errorf("kept entry changed: %+v", got[1])
	}
}
