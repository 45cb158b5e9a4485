package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/out/internal/builttest"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
)

// cfgPath is a rendered file of the test site the tests change.
const cfgPath = "clusters/mesos01/nodes/fast/etc/mesos-slave/attributes/rack"

func TestDiffReleaseNotes(t *testing.T) {
	// Old: the test site. New: marathon upgraded, docker-io downgraded,
	// chronos removed, a new package, a changed config, an image digest
	// change, a removed distro.
	oldSrc, newSrc := t.TempDir(), t.TempDir()
	outtest.WriteSite(t, oldSrc, time.Unix(1500000000, 0))
	outtest.WriteSite(t, newSrc, time.Unix(1500000000, 0))
	dir := filepath.Join(newSrc, "rpms", "mesos-0.22.0")
	for _, p := range demoinputs.Mesos("0.22.0") {
		switch p.Name {
		case "marathon":
			os.Remove(filepath.Join(dir, p.FileName()))
			p.Version = "0.8.1"
		case "docker-io":
			os.Remove(filepath.Join(dir, p.FileName()))
			p.Version = "1.3.1"
		case "chronos":
			os.Remove(filepath.Join(dir, p.FileName()))
			continue
		default:
			continue
		}
		if _, err := demoinputs.WriteRPM(dir, p, 0); err != nil {
			t.Fatal(err)
		}
	}
	extra := demoinputs.Mesos("0.22.0")[0]
	extra.Name = "mesos-devel"
	if _, err := demoinputs.WriteRPM(dir, extra, 0); err != nil {
		t.Fatal(err)
	}
	build := func(src, gen, salt string, dropDistro bool) string {
		plan := outtest.CompileSite(t, src)
		outtest.AddExtras(t, plan, src, gen)
		plan.Images = []*compiler.ImagePlan{{Name: "nginx", Ref: "nginx:1.7.9", Platforms: []string{"linux/amd64"}}}
		plan.ImageLayout = manifest.ImagesDir
		if dropDistro {
			plan.Distros = plan.Distros[:1]
		}
		opts := builttest.Options(t)
		opts.Images = outtest.FakeImages{Salt: salt}
		res, err := builttest.Build(context.Background(), plan, t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		return res.Archive
	}
	oldA := build(oldSrc, "old", "", false)
	newA := build(newSrc, "new", "x", true)
	for _, pair := range [][2]string{{oldA, newA}, {strings.TrimSuffix(oldA, ".tar.zst"), strings.TrimSuffix(newA, ".tar.zst")}} {
		d, err := Compare(context.Background(), pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, p := range d.Packages {
			got[p.Repo+"/"+p.Name] = p.Change + " " + p.Old + " -> " + p.New
		}
		want := map[string]string{
			"mesos/0.22.0/marathon":    "upgraded marathon-0.8.0-1.0.146.el6.x86_64 -> marathon-0.8.1-1.0.146.el6.x86_64",
			"mesos/0.22.0/docker-io":   "downgraded docker-io-1.3.2-2.el6.x86_64 -> docker-io-1.3.1-2.el6.x86_64",
			"mesos/0.22.0/chronos":     "removed chronos-2.3.0-0.1.20141121000021.x86_64 -> ",
			"mesos/0.22.0/mesos-devel": "added  -> mesos-devel-0.22.0-1.0.centos65.x86_64",
		}
		if len(got) != len(want) {
			t.Errorf("packages: %v", got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q", k, got[k], v)
			}
		}
		if len(d.Images) != 1 || d.Images[0].Change != Changed || d.Images[0].OldDigest == d.Images[0].NewDigest {
			t.Errorf("images: %+v", d.Images)
		}
		if len(d.Distros) != 1 || d.Distros[0].Change != Removed || d.Distros[0].Version != "0.21.0" {
			t.Errorf("distros: %+v", d.Distros)
		}
		if len(d.Files) != 1 || d.Files[0].Path != cfgPath || !strings.Contains(d.Files[0].Diff, "-old") || !strings.Contains(d.Files[0].Diff, "+new") || !strings.Contains(d.Files[0].Diff, "--- a/"+cfgPath) {
			t.Errorf("files: %+v", d.Files)
		}
	}
	same, err := Compare(context.Background(), oldA, oldA)
	if err != nil || !same.Empty() {
		t.Fatalf("a bundle differs from itself: %+v %v", same, err)
	}
}

// TestDiffHidesSensitiveFiles: a rendered file that holds a sensitive value
// is marked in bundle.json, and diff says only that it changed.
func TestDiffHidesSensitiveFiles(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	secret := map[string]bool{}
	build := func(password string) string {
		plan := outtest.CompileSite(t, src)
		for _, f := range plan.Files {
			secret[f.Path] = f.Sensitive
		}
		outtest.AddExtras(t, plan, src, "g")
		found := false
		for _, f := range plan.Files {
			if strings.HasSuffix(f.Path, "/haproxy.cfg") {
				if !f.Sensitive {
					t.Fatalf("%s is not sensitive in the plan", f.Path)
				}
				found = true
				f.Data = bytes.Replace(f.Data, []byte("stats auth admin:"), []byte("stats auth admin:"+password), 1)
				f.Size = len(f.Data)
			}
		}
		if !found {
			t.Fatal("no haproxy.cfg in the plan")
		}
		res, err := builttest.Build(context.Background(), plan, t.TempDir(), builttest.Options(t))
		if err != nil {
			t.Fatal(err)
		}
		return res.Dir
	}
	oldB, newB := build("first-secret-"), build("second-secret-")
	d, err := Compare(context.Background(), oldB, newB)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files) != 1 || !d.Files[0].Sensitive || !strings.Contains(d.Files[0].Diff, "(sensitive value changed)") {
		t.Fatalf("files: %+v", d.Files)
	}
	js, _ := json.Marshal(d)
	if bytes.Contains(js, []byte("secret-")) {
		t.Fatalf("diff shows the sensitive value: %s", js)
	}
	data, err := os.ReadFile(filepath.Join(newB, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if want, rendered := secret[f.Path]; f.Sensitive != (rendered && want) || strings.HasSuffix(f.Path, "/haproxy.cfg") && !f.Sensitive {
			t.Errorf("%s: sensitive = %v", f.Path, f.Sensitive)
		}
	}
}
