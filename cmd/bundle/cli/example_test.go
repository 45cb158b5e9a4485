package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/manifest"
)

// writeExample writes examples/mesos-site/site.hcl and its stand-in inputs
// (demoinputs) into dir, creating it, and returns the input files written.
func writeExample(t testing.TB, dir string) []string {
	t.Helper()
	src, err := os.ReadFile("../../../examples/mesos-site/site.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.CopyExampleSiteManifest(t, dir)
	files, err := demoinputs.WriteAll(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestExampleEndToEnd builds the example site with its stand-in inputs and
// reads the result with the real clients: dnf over each bundled repo,
// haproxy -c over the rendered config, and bundle verify on the directory and
// the archive.
func TestExampleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	writeExample(t, dir)
	dist := filepath.Join(t.TempDir(), "dist")
	for _, args := range [][]string{
		{"lock", dir},
		{"build", dir, "-o", dist, "--offline", "-q", "--no-cache"},
		{"verify", filepath.Join(dist, "mesos-site-2015.03.1"), "-q"},
		{"verify", filepath.Join(dist, "mesos-site-2015.03.1.tar.zst"), "-q"},
	} {
		if code, stdout, stderr := run(t, args...); code != 0 {
			t.Fatalf("bundle %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	b := filepath.Join(dist, "mesos-site-2015.03.1")
	data, err := os.ReadFile(filepath.Join(b, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	// The bridge ships executable; the cookbook and roles sit in the
	// serengeti/ tree that deploy copies to the management server.
	modes := map[string]string{}
	for _, f := range m.Files {
		modes[f.Path] = f.Mode
	}
	for path, mode := range map[string]string{
		"clusters/mesos01/haproxy/haproxy-marathon-bridge":              "0755",
		"serengeti/chef/cookbooks/bundle_mesos_site/metadata.rb":        "0644",
		"serengeti/chef/roles/bundle_mesos_site_before_mesos.json":      "0644",
		"serengeti/chef/cookbooks/bundle_mesos_site/recipes/haproxy.rb": "0644",
	} {
		if modes[path] != mode {
			t.Errorf("bundle.json lists %s with mode %q, want %s", path, modes[path], mode)
		}
	}
	if fi, err := os.Stat(filepath.Join(b, "clusters/mesos01/haproxy/haproxy-marathon-bridge")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("the bridge is not executable in the bundle: %v", err)
	}
	// The template, and one derived per node group (they all use it).
	if len(m.Repos) != 2 || len(m.Images) != 1 || len(m.Templates) != 4 {
		t.Fatalf("bundle.json has %d repos, %d images, %d templates", len(m.Repos), len(m.Images), len(m.Templates))
	}
	for _, tc := range []struct{ template, want string }{
		{"mesos-node-mesos01-fast", `ovf:key="role" ovf:type="string" ovf:userConfigurable="true" ovf:value="mesos_slave,mesos_docker"`},
		{"mesos-node-mesos01-fast", `ovf:key="storage_profile" ovf:type="string" ovf:userConfigurable="true" ovf:value="vsan"`},
		{"mesos-node-mesos01-bulk", `ovf:key="storage_profile" ovf:type="string" ovf:userConfigurable="true" ovf:value="vmax"`},
		{"mesos-node-mesos01-master", `ovf:key="role" ovf:type="string" ovf:userConfigurable="true" ovf:value="zookeeper,mesos_master,mesos_marathon,mesos_chronos"`},
		{"mesos-node-mesos01-master", `ovf:key="zookeeper" ovf:type="string" ovf:userConfigurable="true" ovf:value="zk://master-1.localdomain:2181,master-2.localdomain:2181,master-3.localdomain:2181/mesos"`},
	} {
		i := slices.IndexFunc(m.Templates, func(e manifest.TemplateEntry) bool { return e.Name == tc.template })
		if i < 0 {
			t.Errorf("no template %s in bundle.json", tc.template)
			continue
		}
		e := m.Templates[i]
		if e.Base != "mesos-node" || e.OVA != "" || e.OVF != "ovf/mesos-node/"+tc.template+".ovf" {
			t.Errorf("template %s: base %q, ovf %q, ova %q", tc.template, e.Base, e.OVF, e.OVA)
		}
		desc, err := os.ReadFile(filepath.Join(b, e.OVF))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(desc), tc.want) {
			t.Errorf("%s lacks %s", e.OVF, tc.want)
		}
	}
	conf := filepath.Join(t.TempDir(), "dnf.conf")
	if err := os.WriteFile(conf, []byte("[main]\ngpgcheck=False\nskip_if_unavailable=False\nreposdir=/dev/null\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Repos {
		var want []string
		for _, p := range r.Packages {
			want = append(want, p.NEVRA)
		}
		cmd := exec.Command("dnf", "-c", conf, "-q", "--releasever=9", "--setopt=cachedir="+t.TempDir(),
			"--repofrompath=b,file://"+filepath.Join(b, r.Dir), "--repo=b", "repoquery", "--available", "--qf", "%{name}-%{version}-%{release}.%{arch}")
		outb, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dnf repoquery over %s: %v\n%s", r.Dir, err, outb)
		}
		got := strings.Fields(string(outb))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("dnf lists %v in %s; bundle.json says %v", got, r.Dir, want)
		}
	}
	// -dr: the bundled copy names placeholder hosts, which do not resolve here.
	if outb, err := exec.Command("haproxy", "-c", "-dr", "-f", filepath.Join(b, "clusters/mesos01/haproxy/haproxy.cfg")).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c on the bundled config: %v\n%s", err, outb)
	}
	var app struct {
		Container struct {
			Docker struct{ Image string }
		}
	}
	appJSON, err := os.ReadFile(filepath.Join(b, "clusters/mesos01/marathon/nginx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(appJSON, &app); err != nil {
		t.Fatal(err)
	}
	// docker-io 1.3.2 cannot pull by digest: the app runs the tag its docker
	// load archive creates (TestExampleDockerArchive checks the archive).
	if want := m.Images[0].Repository + ":sha256-" + strings.TrimPrefix(m.Images[0].Digest, "sha256:"); app.Container.Docker.Image != want {
		t.Errorf("nginx app runs %q; the bundled image loads as %q", app.Container.Docker.Image, want)
	}
}

// TestExampleReproducible builds the example from two checkout paths whose
// inputs have different mtimes, at different times, with the hash cache off
// and on, and gets the same archive bytes.
func TestExampleReproducible(t *testing.T) {
	build := func(mtime time.Time, extra ...string) string {
		dir := filepath.Join(t.TempDir(), "checkout", "examples", "mesos-site")
		files := writeExample(t, dir)
		for _, f := range files {
			if err := os.Chtimes(f, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		dist := filepath.Join(t.TempDir(), "dist")
		args := append([]string{"build", dir, "-o", dist, "-q", "--offline", "--cache-dir", t.TempDir()}, extra...)
		if code, stdout, stderr := run(t, args...); code != 0 {
			t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
		}
		return fileSum(t, filepath.Join(dist, "mesos-site-2015.03.1.tar.zst"))
	}
	a := build(time.Unix(1300000000, 0))
	time.Sleep(1100 * time.Millisecond)
	b := build(time.Now(), "--no-hardlinks", "--no-cache")
	if a != b {
		t.Fatalf("two builds of the example differ: %s vs %s", a, b)
	}
}

// TestNoHardlinksCopiesEveryInput: with --no-hardlinks no file of the
// bundle shares an inode with an input (so editing an input in place never
// changes a built bundle); by default the RPMs and the disk are linked.
func TestNoHardlinksCopiesEveryInput(t *testing.T) {
	dir := t.TempDir()
	inputs := writeExample(t, dir)
	shared := func(extra ...string) []string {
		dist := t.TempDir()
		args := append([]string{"build", dir, "-o", dist, "-q", "--offline", "--no-cache"}, extra...)
		if code, stdout, stderr := run(t, args...); code != 0 {
			t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
		}
		var links []string
		err := filepath.WalkDir(filepath.Join(dist, "mesos-site-2015.03.1"), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			for _, in := range inputs {
				if ii, err := os.Stat(in); err == nil && os.SameFile(fi, ii) {
					links = append(links, filepath.Base(p))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return links
	}
	if got := shared("--no-hardlinks"); len(got) != 0 {
		t.Errorf("with --no-hardlinks these bundle files share an input's inode: %v", got)
	}
	got := shared()
	if !slices.Contains(got, "mesos-node-disk1.vmdk") || !slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, ".rpm") }) {
		t.Errorf("by default the disk and the RPMs are linked; linked: %v", got)
	}
}
