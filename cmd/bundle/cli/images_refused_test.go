package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/images/layout"
)

func TestImagesPushBadInput(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := startDockerRegistry(t, "", "")
	proxy := startProxy(t, reg)
	bundleDir, archive := buildImagesSite(t, imagesSite(t, proxy.host, ""))
	authReg := startDockerRegistry(t, "site", "s3cret-pass")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()

	work := t.TempDir()
	// A copy of the bundle with one layer changed (same size).
	tampered := filepath.Join(work, "t", "mesos-site-2015.03.1")
	must0(t, os.MkdirAll(filepath.Dir(tampered), 0o755))
	must0(t, exec.Command("cp", "-a", bundleDir, tampered).Run())
	es, err := layout.List(filepath.Join(tampered, "images"))
	if err != nil {
		t.Fatal(err)
	}
	blobDir := filepath.Join(tampered, "images", "blobs", "sha256")
	var layer string
	ents, _ := os.ReadDir(blobDir)
	for _, e := range ents {
		if fi, _ := e.Info(); fi.Size() > 1500 && !slices.ContainsFunc(es, func(x layout.Entry) bool { return strings.HasSuffix(x.Digest, e.Name()) }) {
			layer = filepath.Join(blobDir, e.Name())
			break
		}
	}
	if layer == "" {
		t.Fatal("no layer blob found")
	}
	data, _ := os.ReadFile(layer)
	data[len(data)/2] ^= 0xff
	must0(t, os.WriteFile(layer, data, 0o644))
	// The same in an archive.
	badArchive := rewriteZst(t, archive, work, "mesos-site-2015.03.1.tar.zst", func(tarData []byte) []byte {
		orig, _ := os.ReadFile(strings.Replace(layer, tampered, bundleDir, 1))
		i := strings.Index(string(tarData), string(orig))
		if i < 0 {
			t.Fatal("layer not found in the archive")
		}
		out := slices.Clone(tarData)
		copy(out[i:], data)
		return out
	})
	junk := filepath.Join(work, "junk.tar.zst")
	must0(t, os.WriteFile(junk, []byte("this is not a bundle archive\n"), 0o644))
	notBundle := filepath.Join(work, "plain")
	must0(t, os.MkdirAll(notBundle, 0o755))

	// A site without a registry: no default to push to.
	noReg := imagesSite(t, "x", "")
	src, _ := os.ReadFile(filepath.Join(noReg, "site.hcl"))
	must0(t, os.WriteFile(filepath.Join(noReg, "site.hcl"), []byte(strings.Replace(string(src), `  registry       = "x"`+"\n", "", 1)), 0o644))
	noRegDir, _ := buildImagesSite(t, noReg)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"registry down", []string{"images", "push", archive, "--registry", down}, ExitEnv, []string{"connection refused", down}},
		{"auth refused", []string{"images", "push", archive, "--registry", authReg}, ExitEnv, []string{"refused access", "401 Unauthorized", "docker login"}},
		{"tampered blob in directory", []string{"images", "push", tampered}, ExitUser, []string{"does not verify", "images/blobs/sha256/" + filepath.Base(layer)}},
		{"tampered blob in archive", []string{"images", "push", badArchive}, ExitUser, []string{"does not verify", "images/blobs/sha256/" + filepath.Base(layer)}},
		{"archive that is not a bundle", []string{"images", "push", junk}, ExitUser, []string{"does not verify", "junk.tar.zst"}},
		{"directory that is not a bundle", []string{"images", "push", notBundle}, ExitUser, []string{"does not verify", "bundle.json"}},
		{"list of an archive that is not a bundle", []string{"images", "list", junk}, ExitUser, []string{"junk.tar.zst"}},
		{"no site registry and no --registry", []string{"images", "push", noRegDir}, ExitUsage, []string{"names no site registry", "--registry"}},
		{"missing bundle", []string{"images", "push", filepath.Join(work, "nope")}, ExitUser, []string{"nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := proxy.requests.Load()
			code, stdout, stderr := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error lacks %q:\n%s", w, stderr)
				}
			}
			if n := proxy.requests.Load() - before; n != 0 {
				t.Errorf("%d requests reached the site registry", n)
			}
		})
	}

	// With credentials in the Docker config, the same registry takes the push.
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	must0(t, os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(fmt.Sprintf(`{"auths":{%q:{"username":"site","password":"s3cret-pass"}}}`, authReg)), 0o600))
	if code, stdout, stderr := run(t, "images", "push", archive, "--registry", authReg); code != 0 {
		t.Fatalf("push with credentials: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestImagesPushWithoutImages(t *testing.T) {
	dir := writeDeployBundle(t)
	code, stdout, stderr := run(t, "images", "push", dir)
	if code != 0 || !strings.Contains(stdout, "Bundle mesos-site 2015.03.1 carries no images: nothing to push.") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "images", "list", dir)
	if code != 0 || strings.TrimSpace(stdout) != "NAME  SOURCE  DIGEST  SOURCE DIGEST  MEDIA TYPES  PLATFORMS  SIZE" {
		t.Fatalf("list: exit %d\n%q%s", code, stdout, stderr)
	}
}
