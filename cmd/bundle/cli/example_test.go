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

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/out"
)

// TestExampleEndToEnd builds the example site with its stand-in inputs and
// reads the result with the real clients: dnf over each bundled repo,
// haproxy -c over the rendered config, and bundle verify on the directory and
// the archive.
func TestExampleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../../examples/mesos-site/site.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := demoinputs.WriteAll(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
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
	m, err := out.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Repos) != 2 || len(m.Images) != 1 || len(m.Templates) != 1 {
		t.Fatalf("bundle.json has %d repos, %d images, %d templates", len(m.Repos), len(m.Images), len(m.Templates))
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
	if outb, err := exec.Command("haproxy", "-c", "-f", filepath.Join(b, "clusters/mesos01/haproxy/haproxy.cfg")).CombinedOutput(); err != nil {
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
	if want := "registry.localdomain:5000/" + m.Images[0].Repository + "@" + m.Images[0].Digest; app.Container.Docker.Image != want {
		t.Errorf("nginx app pulls %q; the bundled image is %q", app.Container.Docker.Image, want)
	}
}
