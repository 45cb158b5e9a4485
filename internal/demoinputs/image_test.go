package demoinputs

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const epoch = 1426032000

func TestNginxImageDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	for _, p := range []string{a, b} {
		if err := NginxImage(p, epoch); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two calls with the same epoch wrote different bytes")
	}
	other := filepath.Join(dir, "c.tar")
	if err := NginxImage(other, epoch+1); err != nil {
		t.Fatal(err)
	}
	if cb, _ := os.ReadFile(other); bytes.Equal(ab, cb) {
		t.Fatal("a different epoch wrote the same bytes")
	}
	da, db := digestOf(t, a), digestOf(t, b)
	if da != db {
		t.Fatalf("digests differ: %s vs %s", da, db)
	}
	if dc := digestOf(t, other); dc == da {
		t.Fatal("a different epoch gave the same digest")
	}
}

func digestOf(t *testing.T, p string) v1.Hash {
	t.Helper()
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNginxImageContent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nginx.tar")
	if err := NginxImage(p, epoch); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != "index.docker.io/library/nginx:1.7.9" && m[0].RepoTags[0] != "nginx:1.7.9" {
		t.Fatalf("repo tags = %+v", m)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Platform().String(); got != "linux/amd64" {
		t.Errorf("platform = %s", got)
	}
	if cf.Created.Unix() != epoch {
		t.Errorf("created = %v", cf.Created)
	}
	if _, ok := cf.Config.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("exposed ports = %v", cf.Config.ExposedPorts)
	}
	if len(cf.Config.Cmd) == 0 || cf.Config.Cmd[0] != "nginx" {
		t.Errorf("cmd = %q", cf.Config.Cmd)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != epoch {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
		files[h.Name] = true
	}
	for _, want := range []string{"usr/sbin/nginx", "etc/nginx/nginx.conf", "usr/share/nginx/html/index.html"} {
		if !files[want] {
			t.Errorf("layer lacks %s (has %v)", want, files)
		}
	}
}
