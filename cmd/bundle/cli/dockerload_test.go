package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/images/dockersave"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestExampleDockerArchive: the example ships docker-io 1.3.2, so the build
// writes nginx as a docker load archive under serengeti/www/docker. The
// archive parses as Docker 1.3's load reads it; the tag the Marathon app
// names points at the image id the cookbook's attributes name; the archive's
// sha256 is the one they name; each layer.tar is the uncompressed layer the
// OCI layout holds (its diff_id); skopeo reads the archive back to the
// layout's config; and a second build writes the same bytes.
func TestExampleDockerArchive(t *testing.T) {
	dir := t.TempDir()
	writeExample(t, dir)
	dist := filepath.Join(t.TempDir(), "dist")
	for _, args := range [][]string{
		{"lock", dir},
		{"build", dir, "-o", dist, "--offline", "-q", "--no-cache", "--no-archive"},
	} {
		if code, stdout, stderr := run(t, args...); code != 0 {
			t.Fatalf("bundle %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	b := filepath.Join(dist, "mesos-site-2015.03.1")
	archivePath := filepath.Join(b, "serengeti", "www", "docker", "nginx.tar")
	data, err := os.ReadFile(archivePath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := dockersave.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the archive does not load as Docker 1.3 loads it: %v", err)
	}
	var app struct {
		Container struct{ Docker struct{ Image string } }
	}
	raw, err := os.ReadFile(filepath.Join(b, "clusters", "mesos01", "marathon", "nginx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &app); err != nil {
		t.Fatal(err)
	}
	repo, tag, ok := strings.Cut(app.Container.Docker.Image, ":")
	if !ok || strings.Contains(app.Container.Docker.Image, "@") {
		t.Fatalf("the app runs %q, not a tag", app.Container.Docker.Image)
	}
	chain, err := a.Chain(repo, tag)
	if err != nil {
		t.Fatalf("the app's %s: %v", app.Container.Docker.Image, err)
	}
	attrs, err := os.ReadFile(filepath.Join(b, "serengeti", "chef", "cookbooks", "bundle_mesos_site", "attributes", "docker_archives.rb"))
	if err != nil {
		t.Fatal(err)
	}
	field := func(k string) string {
		m := regexp.MustCompile(`"` + k + `" => "([0-9a-f]{64})"`).FindSubmatch(attrs)
		if m == nil {
			t.Fatalf("docker_archives.rb has no %s:\n%s", k, attrs)
		}
		return string(m[1])
	}
	sum := sha256.Sum256(data)
	if field("sha256") != hex.EncodeToString(sum[:]) || field("image_id") != chain[0].ID {
		t.Errorf("attributes name sha256 %s id %s; the archive is %x with %s:%s = %s", field("sha256"), field("image_id"), sum, repo, tag, chain[0].ID)
	}
	// Every file is listed in bundle.json (verify would fail otherwise).
	if code, stdout, stderr := run(t, "verify", b, "-q"); code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}

	p, err := layout.FromPath(filepath.Join(b, "images"))
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := p.ImageIndex()
	im, _ := idx.IndexManifest()
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != len(cf.RootFS.DiffIDs) {
		t.Fatalf("%d layers in the archive, %d in the image", len(chain), len(cf.RootFS.DiffIDs))
	}
	for i, l := range chain {
		if want := cf.RootFS.DiffIDs[len(chain)-1-i]; "sha256:"+l.LayerSHA256 != want.String() {
			t.Errorf("layer %s is sha256:%s, want %s", l.ID, l.LayerSHA256, want)
		}
	}
	cfgName, _ := img.ConfigName()
	out := filepath.Join(t.TempDir(), "copy")
	skopeoRun(t, "copy", "docker-archive:"+archivePath+":"+app.Container.Docker.Image, "dir:"+out)
	if _, err := os.Stat(filepath.Join(out, cfgName.Hex)); err != nil {
		t.Errorf("skopeo's copy lacks the layout's config %s: %v", cfgName, err)
	}

	dist2 := filepath.Join(t.TempDir(), "dist")
	if code, stdout, stderr := run(t, "build", dir, "-o", dist2, "--offline", "-q", "--no-cache", "--no-archive"); code != 0 {
		t.Fatalf("second build: exit %d\n%s%s", code, stdout, stderr)
	}
	again, err := os.ReadFile(filepath.Join(dist2, "mesos-site-2015.03.1", "serengeti", "www", "docker", "nginx.tar"))
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("a second build wrote another archive (%v)", err)
	}
}

// shipDocker writes the stand-in docker-io RPM at version into rpmDir: with
// 1.6.0 or later in the distro's repo the cluster's Docker pulls by digest
// from the site registry (the highest docker-io of the repos decides).
func shipDocker(t *testing.T, rpmDir, version string) {
	t.Helper()
	for _, p := range demoinputs.Mesos("0.22.0") {
		if p.Name != "docker-io" {
			continue
		}
		p.Version, p.PayloadKB = version, 0
		p.Provides = []string{"docker = " + version + "-" + p.Release, "docker-io = " + version + "-" + p.Release}
		if _, err := demoinputs.WriteRPM(rpmDir, p, demoinputs.Epoch); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("the stand-in packages have no docker-io")
}
