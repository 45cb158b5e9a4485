package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRegistryImageLockAndOffline follows a registry image through lock,
// build, an offline rebuild with the registry gone, and a tag that moved.
func TestRegistryImageLockAndOffline(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	push := func() string {
		img, err := random.Image(4096, 2)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(host + "/team/web:1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d.String()
	}
	first := push()
	site := baseSite + "\nimage \"web\" {\n  ref = \"" + host + "/team/web:1\"\n}\n"
	site = strings.Replace(site, "  cmd       = \"python -m SimpleHTTPServer $PORT0\"\n", "  image     = image.web\n", 1)
	dir := writeSite(t, site)
	shipDocker(t, filepath.Join(dir, "rpms"), "1.6.2") // the app pulls by digest
	dist := filepath.Join(t.TempDir(), "dist")
	mustRun := func(want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := run(t, args...)
		if code != want {
			t.Fatalf("bundle %v: exit %d, want %d\n%s%s", args, code, want, stdout, stderr)
		}
		return stdout + stderr
	}
	mustRun(0, "lock", dir)
	lock, err := os.ReadFile(filepath.Join(dir, "bundle.lock.hcl"))
	if err != nil || !strings.Contains(string(lock), first) {
		t.Fatalf("lock file does not pin %s:\n%s", first, lock)
	}
	mustRun(0, "build", dir, "-o", dist, "-q")
	archive := filepath.Join(dist, "site-1.0.0.tar.zst")
	sum := fileSum(t, archive)
	app, err := os.ReadFile(filepath.Join(dist, "site-1.0.0", "clusters/c1/marathon/web.json"))
	if err != nil || !strings.Contains(string(app), "team/web@"+first) {
		t.Fatalf("app JSON does not pull the locked digest %s:\n%s", first, app)
	}

	// The registry is gone: an offline rebuild takes the image from the
	// previous bundle and gives the same archive.
	srv.Close()
	mustRun(0, "build", dir, "-o", dist, "-q", "--offline")
	if got := fileSum(t, archive); got != sum {
		t.Fatalf("offline rebuild changed the archive: %s -> %s", sum, got)
	}
	// Offline without the previous bundle: a clear error, nothing written.
	other := filepath.Join(t.TempDir(), "dist")
	out := mustRun(ExitUser, "build", dir, "-o", other, "-q", "--offline")
	if !strings.Contains(out, "network is off") {
		t.Errorf("offline build without the image says:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(other, "site-1.0.0")); !os.IsNotExist(err) {
		t.Errorf("a failed build left %s", filepath.Join(other, "site-1.0.0"))
	}

	// The tag moves: build refuses until --update-lock, the previous bundle
	// stays as it was.
	srv = httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host2 := strings.TrimPrefix(srv.URL, "http://")
	site2 := strings.ReplaceAll(site, host, host2)
	must0(t, os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(site2), 0o644))
	must0(t, os.WriteFile(filepath.Join(dir, "bundle.lock.hcl"), []byte(strings.ReplaceAll(string(lock), host, host2)), 0o644))
	host = host2
	second := push()
	out = mustRun(ExitUser, "build", dir, "-o", dist, "-q")
	if !strings.Contains(out, "lock") || !strings.Contains(out, first) {
		t.Errorf("moved tag: build says:\n%s", out)
	}
	if got := fileSum(t, archive); got != sum {
		t.Fatal("a refused build changed the previous archive")
	}
	mustRun(0, "build", dir, "-o", dist, "-q", "--update-lock")
	app, _ = os.ReadFile(filepath.Join(dist, "site-1.0.0", "clusters/c1/marathon/web.json"))
	if !strings.Contains(string(app), "team/web@"+second) {
		t.Fatalf("--update-lock: app JSON does not pull %s:\n%s", second, app)
	}
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRegistryThatNeverAnswers: lock, build and images push against a
// registry that accepts connections and never answers (or drips its
// answer) end within --registry-timeout, exit 3 and say why.
func TestRegistryThatNeverAnswers(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	for _, mode := range []string{"silent", "drip"} {
		t.Run(mode, func(t *testing.T) {
			done := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if mode == "drip" {
					w.Header().Set("Content-Length", "1000")
					w.WriteHeader(http.StatusOK)
					for range 1000 {
						if _, err := w.Write([]byte{' '}); err != nil {
							return
						}
						w.(http.Flusher).Flush()
						select {
						case <-time.After(100 * time.Millisecond):
						case <-done:
							return
						}
					}
				}
				select {
				case <-r.Context().Done():
				case <-done:
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(done) })
			host := strings.TrimPrefix(srv.URL, "http://")
			site := baseSite + "\nimage \"web\" {\n  ref = \"" + host + "/team/web:1\"\n}\n"
			site = strings.Replace(site, "  cmd       = \"python -m SimpleHTTPServer $PORT0\"\n", "  image     = image.web\n", 1)
			dir := writeSite(t, site)
			for _, args := range [][]string{
				{"lock", dir, "--registry-timeout", "300ms"},
				{"build", dir, "-o", filepath.Join(t.TempDir(), "dist"), "-q", "--registry-timeout", "300ms"},
			} {
				start := time.Now()
				code, stdout, stderr := run(t, args...)
				if code != ExitEnv || !strings.Contains(stdout+stderr, "the registry did not answer") {
					t.Errorf("bundle %v: exit %d, want 3 naming the silence\n%s%s", args, code, stdout, stderr)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("bundle %v took %s", args, d)
				}
			}
		})
	}
}

// TestRegistryBuildAsksOnce counts what a build asks the registry: the
// facts' resolution and the mirror share one answer, so each manifest is
// asked for once (the tag and the chosen platform's manifest).
func TestRegistryBuildAsksOnce(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			mu.Lock()
			asked[r.Method+" "+r.URL.Path]++
			mu.Unlock()
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	idx, err := random.Index(1024, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	// random.Index gives its images no platform: name them.
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	plats := []v1.Platform{{OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "amd64"}}
	var adds []mutate.IndexAddendum
	for i, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		d.Platform = &plats[i]
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: d})
	}
	ref, err := name.ParseReference(host + "/team/web:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, mutate.AppendManifests(empty.Index, adds...)); err != nil {
		t.Fatal(err)
	}
	site := baseSite + "\nimage \"web\" {\n  ref = \"" + host + "/team/web:1\"\n  platform = \"linux/amd64\"\n}\n"
	site = strings.Replace(site, "  cmd       = \"python -m SimpleHTTPServer $PORT0\"\n", "  image     = image.web\n", 1)
	dir := writeSite(t, site)
	shipDocker(t, filepath.Join(dir, "rpms"), "1.6.2")
	dist := filepath.Join(t.TempDir(), "dist")
	if code, stdout, stderr := run(t, "lock", dir); code != 0 {
		t.Fatalf("bundle lock: exit %d\n%s%s", code, stdout, stderr)
	}
	mu.Lock()
	clear(asked)
	mu.Unlock()
	if code, stdout, stderr := run(t, "build", dir, "-o", dist, "-q"); code != 0 {
		t.Fatalf("bundle build: exit %d\n%s%s", code, stdout, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) < 2 {
		t.Fatalf("the build asked for %d manifests, want the index and the amd64 image: %v", len(asked), asked)
	}
	for p, n := range asked {
		if n != 1 {
			t.Errorf("%s asked %d times, want once", p, n)
		}
	}
}
