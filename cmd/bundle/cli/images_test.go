package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/bcrypt"
)

// startDockerRegistry runs Debian's docker-registry (distribution) on a free
// loopback port with filesystem storage. With user set it requires HTTP
// basic auth as user with password pass (an htpasswd file).
func startDockerRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	auth := ""
	if user != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		pw := filepath.Join(t.TempDir(), "htpasswd")
		must0(t, os.WriteFile(pw, []byte(user+":"+string(h)+"\n"), 0o644))
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: site\n    path: %s\n", pw)
	}
	return testutil.DockerRegistry(t, auth)
}

// wantAppImagesPushed checks, with skopeo inspect, that the image each
// Marathon app of bundleDir pulls (name@digest, from its app definition) is
// in its registry with that digest.
func wantAppImagesPushed(t *testing.T, bundleDir string) {
	t.Helper()
	for app, ref := range appImages(t, bundleDir) {
		_, want, _ := strings.Cut(ref, "@")
		if got := skopeoInspectDigest(t, ref); got != want {
			t.Errorf("app %s: skopeo inspect %s gives %s", app, ref, got)
		}
	}
}

// regProxy is a loopback reverse proxy in front of a registry. It counts
// the blob uploads the registry committed and, with failFrom set, rejects
// every blob upload from the failFrom-th on (as a registry that refuses a
// blob mid-push).
type regProxy struct {
	host     string
	commits  atomic.Int64
	requests atomic.Int64
	patches  atomic.Int64
	failFrom atomic.Int64
}

func startProxy(t *testing.T, backend string) *regProxy {
	t.Helper()
	u, _ := url.Parse("http://" + backend)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &regProxy{}
	rp.ModifyResponse = func(resp *http.Response) error {
		r := resp.Request
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") && resp.StatusCode == http.StatusCreated {
			p.commits.Add(1)
		}
		return nil
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			n := p.patches.Add(1)
			if f := p.failFrom.Load(); f > 0 && n >= f {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload rejected"}]}`)
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	p.host = l.Addr().String()
	return p
}

// imagesSite writes the example site with its stand-in inputs, a second
// app with a three-layer image of its own, and registry as the site
// registry; extra is added to the bundle block.
func imagesSite(t *testing.T, registry, extra string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../../../examples/mesos-site/site.hcl")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), "registry.localdomain:5000", registry, 1)
	s = strings.Replace(s, "  epoch       = 1426032000", "  epoch       = 1426032000\n"+extra, 1)
	s += `
app "tools" {
  cluster   = cluster.mesos01
  instances = 1
  cpus      = 0.1
  mem       = 64
  image     = image.tools
}

image "tools" {
  ref = "docker-archive:images/tools.tar"
}
`
	must0(t, os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(s), 0o644))
	testutil.CopyExampleSiteManifest(t, dir)
	if _, err := demoinputs.WriteAll(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	// Docker 1.6.2: the apps pull by digest from the site registry.
	shipDocker(t, filepath.Join(dir, "rpms", "mesos-0.22.0"), "1.6.2")
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("tools:1")
	must0(t, tarball.WriteToFile(filepath.Join(dir, "images", "tools.tar"), tag, img))
	return dir
}

// buildImagesSite builds the site and returns the bundle directory and
// archive.
func buildImagesSite(t *testing.T, dir string) (string, string) {
	t.Helper()
	dist := filepath.Join(t.TempDir(), "dist")
	for _, args := range [][]string{{"lock", dir, "-q"}, {"build", dir, "-o", dist, "--offline", "-q", "--no-cache"}} {
		if code, stdout, stderr := run(t, args...); code != 0 {
			t.Fatalf("bundle %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	return filepath.Join(dist, "mesos-site-2015.03.1"), filepath.Join(dist, "mesos-site-2015.03.1.tar.zst")
}

// appImages returns the image each Marathon app of the bundle pulls, from
// its app definition.
func appImages(t *testing.T, bundleDir string) map[string]string {
	t.Helper()
	m := readManifestFile(t, bundleDir)
	got := map[string]string{}
	for _, c := range m.Clusters {
		for _, a := range c.Apps {
			if a.Image == "" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(bundleDir, "clusters", c.Name, "marathon", a.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var app struct {
				Container struct{ Docker struct{ Image string } }
			}
			must0(t, json.Unmarshal(b, &app))
			got[a.Name] = app.Container.Docker.Image
		}
	}
	return got
}

func readManifestFile(t *testing.T, bundleDir string) *manifest.Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(bundleDir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// skopeoInspectDigest asks the registry for ref with skopeo.
func skopeoInspectDigest(t *testing.T, ref string) string {
	t.Helper()
	outb := skopeoRun(t, "inspect", "--no-tags", "--tls-verify=false", "docker://"+ref)
	var v struct{ Digest string }
	if err := json.Unmarshal([]byte(outb), &v); err != nil {
		t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, outb)
	}
	return v.Digest
}

func skopeoRun(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Fatalf("skopeo is required (Debian package skopeo): %v", err)
	}
	if _, err := os.Stat("/etc/containers/policy.json"); err != nil {
		args = append([]string{"--insecure-policy"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	outb, err := exec.CommandContext(ctx, "skopeo", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, outb)
	}
	return string(outb)
}

// uniqueBlobs counts the configs and layers of the bundle's layout.
func uniqueBlobs(t *testing.T, bundleDir string) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(bundleDir, "images", "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	es2, err := layout.List(filepath.Join(bundleDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	// Every file but the manifests (one per image here: no indexes).
	return len(es) - len(es2)
}

func TestImagesPushAndList(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := startDockerRegistry(t, "", "")
	proxy := startProxy(t, reg)
	bundleDir, archive := buildImagesSite(t, imagesSite(t, proxy.host, ""))
	apps := appImages(t, bundleDir)
	if len(apps) != 2 || !strings.HasPrefix(apps["nginx"], proxy.host+"/") || !strings.HasPrefix(apps["tools"], proxy.host+"/") {
		t.Fatalf("apps pull %v, want both at %s", apps, proxy.host)
	}
	if m := readManifestFile(t, bundleDir); m.SiteRegistry != proxy.host {
		t.Fatalf("bundle.json site_registry %q, want %q", m.SiteRegistry, proxy.host)
	}

	// list, from the archive and the directory alike.
	for _, p := range []string{archive, bundleDir} {
		code, stdout, stderr := run(t, "images", "list", p, "--json")
		if code != 0 {
			t.Fatalf("images list %s: exit %d\n%s%s", p, code, stdout, stderr)
		}
		var l struct {
			SiteRegistry string `json:"site_registry"`
			Images       []layout.Entry
		}
		if err := json.Unmarshal([]byte(stdout), &l); err != nil {
			t.Fatalf("images list --json: %v\n%s", err, stdout)
		}
		if l.SiteRegistry != proxy.host || len(l.Images) != 2 || l.Images[0].Name != "nginx" || l.Images[1].Name != "tools" {
			t.Fatalf("images list %s: %+v", p, l)
		}
		for _, e := range l.Images {
			if want := proxy.host + "/" + e.Repository + "@" + e.Digest; apps[e.Name] != want {
				t.Errorf("%s: app pulls %s, list says %s", e.Name, apps[e.Name], want)
			}
			if e.MediaTypes != layout.Preserve || e.MediaType != "application/vnd.docker.distribution.manifest.v2+json" || e.Size == 0 || !slices.Equal(e.Platforms, map[string][]string{"nginx": {"linux/amd64"}, "tools": {}}[e.Name]) || e.Source != "docker-archive:"+map[string]string{"nginx": "nginx-1.7.9.tar", "tools": "tools.tar"}[e.Name] {
				t.Errorf("%s: %+v", e.Name, e)
			}
		}
	}
	code, stdout, _ := run(t, "images", "list", archive)
	if code != 0 || !strings.Contains(stdout, "NAME") || !strings.Contains(stdout, "preserve (application/vnd.docker.distribution.manifest.v2+json)") {
		t.Fatalf("images list: exit %d\n%s", code, stdout)
	}

	// push from the archive, to the site registry (the default).
	code, stdout, stderr := run(t, "images", "push", archive)
	if code != 0 {
		t.Fatalf("images push: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "Warning") {
		t.Errorf("push to the site registry warns:\n%s", stderr)
	}
	blobs := uniqueBlobs(t, bundleDir)
	if got := proxy.commits.Load(); got != int64(blobs) {
		t.Errorf("first push committed %d blobs, the layout has %d", got, blobs)
	}
	for app, ref := range apps {
		_, want, _ := strings.Cut(ref, "@")
		if got := skopeoInspectDigest(t, ref); got != want {
			t.Errorf("app %s: skopeo inspect %s gives %s", app, ref, got)
		}
	}

	// Again, from the directory: nothing is uploaded, and it says so.
	before := proxy.commits.Load()
	code, stdout, stderr = run(t, "images", "push", bundleDir)
	if code != 0 || !strings.Contains(stdout, "No changes") {
		t.Fatalf("second push: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "images", "push", archive, "--json")
	if code != 0 {
		t.Fatalf("third push: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := proxy.commits.Load(); got != before {
		t.Errorf("re-pushes committed %d blobs", got-before)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var sum struct {
		Event   string
		Summary struct {
			NoChanges bool `json:"no_changes"`
			Images    []registry.Pushed
		}
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Event != "summary" || !sum.Summary.NoChanges || len(sum.Summary.Images) != 2 {
		t.Fatalf("push --json: %v\n%s", err, stdout)
	}
	for _, p := range sum.Summary.Images {
		if p.UploadedBlobs != 0 || p.UploadedBytes != 0 || p.Manifests != 0 || p.SkippedBlobs == 0 {
			t.Errorf("re-push of %s: %+v", p.Name, p)
		}
	}

	// Elsewhere than the site registry: pushed, with a warning.
	code, stdout, stderr = run(t, "images", "push", archive, "--registry", reg)
	if code != 0 || !strings.Contains(stderr, "Warning: pushing to "+reg+", but the apps of bundle mesos-site 2015.03.1 pull their images from "+proxy.host) {
		t.Fatalf("push elsewhere: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestImagesPushResumes(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := startDockerRegistry(t, "", "")
	proxy := startProxy(t, reg)
	bundleDir, archive := buildImagesSite(t, imagesSite(t, proxy.host, ""))
	blobs := uniqueBlobs(t, bundleDir)
	if blobs < 4 {
		t.Fatalf("the layout has %d blobs; the test needs at least 4", blobs)
	}
	// The registry rejects the third blob upload and every later one.
	proxy.failFrom.Store(3)
	code, stdout, stderr := run(t, "images", "push", archive)
	if code != ExitEnv || !strings.Contains(stderr, "BLOB_UPLOAD_INVALID") || !strings.Contains(stderr, "pushing image") {
		t.Fatalf("rejected blob: exit %d, want %d\n%s%s", code, ExitEnv, stdout, stderr)
	}
	first := proxy.commits.Load()
	if first != 2 {
		t.Fatalf("%d blobs committed before the rejection, want 2", first)
	}
	proxy.failFrom.Store(0)
	code, stdout, stderr = run(t, "images", "push", archive)
	if code != 0 {
		t.Fatalf("resumed push: exit %d\n%s%s", code, stdout, stderr)
	}
	if second := proxy.commits.Load() - first; second != int64(blobs)-first {
		t.Errorf("resumed push committed %d blobs, want the %d left", second, int64(blobs)-first)
	}
	wantAppImagesPushed(t, bundleDir)
}

// TestImagesPushOCIMediaTypes builds with image_media_types = "oci": the
// tools image takes the default and skopeo copies it from the layout with
// its digest kept; nginx keeps its own media_types = "preserve" (the
// example's), which skopeo's oci: transport cannot read.
func TestImagesPushOCIMediaTypes(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := startDockerRegistry(t, "", "")
	bundleDir, archive := buildImagesSite(t, imagesSite(t, reg, `  image_media_types = "oci"`))
	code, stdout, stderr := run(t, "images", "list", archive, "--json")
	if code != 0 {
		t.Fatalf("images list: exit %d\n%s%s", code, stdout, stderr)
	}
	var l struct{ Images []layout.Entry }
	must0(t, json.Unmarshal([]byte(stdout), &l))
	if len(l.Images) != 2 {
		t.Fatalf("images list: %+v", l)
	}
	for _, e := range l.Images {
		ref := "oci:" + filepath.Join(bundleDir, "images") + ":" + e.Name
		dst := reg + "/copied/" + e.Name + ":1"
		if e.Name == "nginx" {
			if e.MediaTypes != layout.Preserve || e.SourceDigest != e.Digest {
				t.Errorf("nginx (media_types = \"preserve\"): %+v", e)
			}
			cmd := exec.Command("skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", ref, "docker://"+dst)
			if outb, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(outb), "no descriptor found") {
				t.Errorf("skopeo copy of a Docker-typed entry: %v\n%s", err, outb)
			}
			continue
		}
		if e.MediaTypes != layout.OCI || e.MediaType != "application/vnd.oci.image.manifest.v1+json" || e.SourceDigest == e.Digest {
			t.Errorf("%s: %+v", e.Name, e)
		}
		// skopeo reads the layout and keeps the digest.
		skopeoRun(t, "copy", "--dest-tls-verify=false", ref, "docker://"+dst)
		if got := skopeoInspectDigest(t, dst); got != e.Digest {
			t.Errorf("%s: skopeo copy %s gives %s, the layout has %s", e.Name, ref, got, e.Digest)
		}
	}
	if code, stdout, stderr := run(t, "images", "push", archive); code != 0 {
		t.Fatalf("images push: exit %d\n%s%s", code, stdout, stderr)
	}
	wantAppImagesPushed(t, bundleDir)
}

// TestDeployPushesImages: deploy's image step is the push of images push:
// the example bundle deployed to the vCenter simulator pushes its images to
// the site registry (docker-registry behind the counting proxy), which then
// serves every image the apps pin; a re-deploy uploads nothing; a deploy
// with --registry elsewhere warns.
func TestDeployPushesImages(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := startDockerRegistry(t, "", "")
	proxy := startProxy(t, reg)
	bundleDir, _ := buildImagesSite(t, imagesSite(t, proxy.host, ""))
	startSim(t)
	t.Setenv("GOVC_RESOURCE_POOL", "DC0_C0/Resources")
	t.Setenv("GOVC_NETWORK", "VM Network")
	t.Setenv("GOVC_FOLDER", "vm")
	code, stdout, stderr := run(t, "deploy", bundleDir, "--datastore-path", "img")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, want := proxy.commits.Load(), int64(uniqueBlobs(t, bundleDir)); got != want {
		t.Errorf("deploy committed %d blobs, the layout has %d", got, want)
	}
	wantAppImagesPushed(t, bundleDir)
	before := proxy.requests.Load()
	code, stdout, stderr = run(t, "deploy", bundleDir, "--datastore-path", "img")
	if code != 0 || !strings.Contains(stdout, "No changes") {
		t.Fatalf("re-deploy: exit %d\n%s%s", code, stdout, stderr)
	}
	if n := proxy.requests.Load() - before; n != 0 {
		t.Errorf("re-deploy sent %d requests to the registry", n)
	}
	code, stdout, stderr = run(t, "deploy", bundleDir, "--datastore-path", "img", "--registry", reg)
	if code != 0 || !strings.Contains(stderr, "Warning: pushing to "+reg+", but the apps of bundle mesos-site 2015.03.1 pull their images from "+proxy.host) {
		t.Fatalf("deploy elsewhere: exit %d\n%s%s", code, stdout, stderr)
	}
}
