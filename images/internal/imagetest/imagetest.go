package imagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// StartGGCR starts go-containerregistry's in-process registry wrapped by
// wrap (nil = none) and returns its host:port.
func StartGGCR(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// StartDistribution runs Debian's docker-registry (the distribution server)
// on a free loopback port with filesystem storage in a temporary directory.
func StartDistribution(t testing.TB) string {
	t.Helper()
	return testutil.DockerRegistry(t, "")
}

type RegistryKind struct {
	Name  string
	Start func(testing.TB) string
}

var RegistryKinds = []RegistryKind{
	{"ggcr", func(t testing.TB) string { return StartGGCR(t, nil) }},
	{"distribution", StartDistribution},
}

func Ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// PlatformImage is a random image whose config names platform p and whose
// first layers are base; with oci its media types are OCI ones, else
// Docker ones.
func PlatformImage(t testing.TB, p v1.Platform, base []v1.Layer, extra int64, oci bool) v1.Image {
	t.Helper()
	layers := append([]v1.Layer(nil), base...)
	lt := types.DockerLayer
	if oci {
		lt = types.OCILayer
	}
	for range extra {
		l, err := random.Layer(2048, lt)
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	var start = empty.Image
	if oci {
		start = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	img, err := mutate.AppendLayers(start, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var TestPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "s390x"},
}

// PushMultiIndex pushes to r an OCI index of one OCI image per
// TestPlatforms entry, all sharing the base layers, and returns it as the
// registry serves it. The index is written by hand, as build tools write
// them: descriptors without artifactType, which Skopeo 1.9 would drop.
func PushMultiIndex(t testing.TB, r string, base []v1.Layer) v1.ImageIndex {
	t.Helper()
	dst := Ref(t, r)
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, p := range TestPlatforms {
		img := PlatformImage(t, p, base, 1, true)
		d := DigestOf(t, img)
		PushImage(t, dst.Context().String()+"@"+d, img)
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		h, _ := v1.NewHash(d)
		im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(raw)), Digest: h, Platform: &p})
	}
	raw, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(dst, RawIndex(raw)); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
	idx, err := remote.Index(dst)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// RawIndex is an OCI index as remote.Put sends it.
type RawIndex []byte

func (r RawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r RawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

func DigestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func PushImage(t testing.TB, r string, img v1.Image) {
	t.Helper()
	if err := remote.Write(Ref(t, r), img); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
}

// Skopeo runs Skopeo with the policy flag the machine needs.
func Skopeo(t testing.TB, args ...string) string {
	t.Helper()
	if _, err := os.Stat("/etc/containers/policy.json"); err != nil {
		args = append([]string{"--insecure-policy"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "skopeo", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// CountingHandler counts the bytes of response bodies.
type CountingHandler struct {
	H http.Handler
	N atomic.Int64
}

func (c *CountingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.H.ServeHTTP(&countingWriter{ResponseWriter: w, n: &c.N}, r)
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

// DirEmpty fails the test when dir holds anything.
func DirEmpty(t testing.TB, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

// OneImageLayout writes an OCI layout holding one image named "web" and
// returns its directory and the image's manifest descriptor.
func OneImageLayout(t testing.TB) (string, v1.Descriptor) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img := PlatformImage(t, TestPlatforms[0], nil, 1, true)
	if err := p.AppendImage(img, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationRefName: "web"})); err != nil {
		t.Fatal(err)
	}
	im := ReadIndexJSON(t, dir)
	return dir, im.Manifests[0]
}

func ReadIndexJSON(t testing.TB, dir string) *v1.IndexManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(b, &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

func WriteJSON(t testing.TB, p string, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// PutBlob stores b in the layout under its digest and returns its
// descriptor.
func PutBlob(t testing.TB, dir string, mt types.MediaType, b []byte) v1.Descriptor {
	t.Helper()
	h := v1.Hash{Algorithm: "sha256", Hex: SHA256Hex(b)}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(b))}
}

func SetEntries(t testing.TB, dir string, ds ...v1.Descriptor) {
	t.Helper()
	for i := range ds {
		if ds[i].Annotations == nil {
			ds[i].Annotations = map[string]string{layout.AnnotationRefName: "web"}
		}
	}
	WriteJSON(t, filepath.Join(dir, "index.json"), v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ds})
}

func BlobPath(dir string, d v1.Descriptor) string {
	return filepath.Join(dir, "blobs", "sha256", d.Digest.Hex)
}

// Sparse replaces p by a Sparse file of n bytes (its old content first).
func Sparse(t testing.TB, p string, n int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(n); err != nil {
		t.Fatal(err)
	}
}

func Mkfifo(t testing.TB, p string) {
	t.Helper()
	os.Remove(p)
	testutil.Mkfifo(t, p)
}

// DirWalk reads a layout directory as a stream, files in the sorted order
// a bundle archive holds them.
func DirWalk(dir string) layout.WalkFunc {
	return func(ctx context.Context, visit func(rel string, size int64, r io.Reader) error) error {
		var rels []string
		err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			rels = append(rels, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(rels)
		for _, rel := range rels {
			if err := ctx.Err(); err != nil {
				return err
			}
			f, err := os.Open(filepath.Join(dir, rel))
			if err != nil {
				return err
			}
			st, _ := f.Stat()
			err = visit(rel, st.Size(), f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// UploadCounter wraps a registry handler: it counts committed blob
// uploads, and fails (with Status) the blob uploads numbered in fail.
type UploadCounter struct {
	H       http.Handler
	Commits atomic.Int64
	Patches atomic.Int64
	Fail    map[int64]int
}

func (u *UploadCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") {
		switch r.Method {
		case http.MethodPatch:
			n := u.Patches.Add(1)
			if code := u.Fail[n]; code != 0 {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(code)
				return
			}
		case http.MethodPut:
			rec := &statusRecorder{ResponseWriter: w}
			u.H.ServeHTTP(rec, r)
			if rec.code == http.StatusCreated {
				u.Commits.Add(1)
			}
			return
		}
	}
	u.H.ServeHTTP(w, r)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(c int) { s.code = c; s.ResponseWriter.WriteHeader(c) }

// NoNetwork is a transport that fails every request at once, recording
// which were asked of it.
type NoNetwork struct {
	mu      sync.Mutex
	Schemes []string
}

func (n *NoNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.Schemes = append(n.Schemes, r.URL.Scheme)
	return nil, errors.New("no TLS server here")
}

// ModuleDir is the directory of module path in the module cache (go mod
// download fetches it from the module proxy when missing).
func ModuleDir(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", path).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", path, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", path, err, out)
	}
	return m.Dir
}

func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Hostile is a loopback registry that misbehaves on purpose: requests a
// rule matches get the rule's answer (lying sizes, endless bodies,
// silence, drips, 500s, redirects); the rest reach go-containerregistry's
// registry, which holds real images.
type Hostile struct {
	Host  string
	rules []hostileRule
	done  chan struct{} // closed at cleanup: silent handlers return
}

type hostileRule struct {
	method, path string // path: a substring of the URL path
	answer       func(w http.ResponseWriter, r *http.Request)
}

func StartHostile(t *testing.T) *Hostile {
	t.Helper()
	h := &Hostile{done: make(chan struct{})}
	h.Host = StartGGCR(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, rule := range h.rules {
				if (rule.method == "" || rule.method == r.Method) && strings.Contains(r.URL.Path, rule.path) {
					rule.answer(w, r)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	t.Cleanup(func() { close(h.done) })
	return h
}

func (h *Hostile) On(method, path string, answer func(w http.ResponseWriter, r *http.Request)) {
	h.rules = append(h.rules, hostileRule{method, path, answer})
}

// silence accepts the request and never answers.
func (h *Hostile) Silence(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-h.done:
	}
}

// drip sends the headers (announcing n bytes), then a byte every every.
func (h *Hostile) Drip(n int, every time.Duration) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.WriteHeader(http.StatusOK)
		for range n {
			if _, err := w.Write([]byte{' '}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(every):
			case <-r.Context().Done():
				return
			case <-h.done:
				return
			}
		}
	}
}

// endless sends up to max bytes of b repeated (without a Content-Length
// unless claim > 0), then stalls: a client without a bound reads all of it.
func (h *Hostile) Endless(b byte, claim int64, max int) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if claim > 0 {
			w.Header().Set("Content-Length", strconv.FormatInt(claim, 10))
		}
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		if r.Method == http.MethodHead {
			return
		}
		chunk := []byte(strings.Repeat(string(b), 64<<10))
		for sent := 0; sent < max; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		h.Silence(w, r)
	}
}

// Redirect sends the request on to the same path at host.
func Redirect(host string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+host+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}
}

func Status(code int) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, http.StatusText(code), code) }
}

// HostileImage pushes a one-layer image as team/web:1 and returns its
// manifest.
func HostileImage(t *testing.T, h *Hostile) (*v1.Manifest, string) {
	t.Helper()
	img := PlatformImage(t, TestPlatforms[0], nil, 1, true)
	PushImage(t, h.Host+"/team/web:1", img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m, DigestOf(t, img)
}

// PutManifest stores m as team/web:<tag> and returns its digest.
func PutManifest(t *testing.T, h *Hostile, tag string, m *v1.Manifest) string {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(Ref(t, h.Host+"/team/web:"+tag), rawManifest(raw)); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("sha256:%s", SHA256Hex(raw))
}

// HeapGrowth runs f and reports how much the heap grew.
func HeapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if after.TotalAlloc < before.TotalAlloc {
		return 0
	}
	return after.TotalAlloc - before.TotalAlloc
}

// Fixture is a source registry plus local sources, and the digests the
// mirrored images must have.
type Fixture struct {
	Host      string
	Specs     []Spec
	Want      map[string]string // name → digest in the layout
	WantSrc   map[string]string // name → digest the ref resolves to
	Indexes   map[string]bool   // names stored as an index
	Docker    map[string]bool   // names whose source has Docker media types
	Platforms map[string][]string
}

func NewFixture(t testing.TB, host string) Fixture {
	t.Helper()
	base, err := random.Layer(4096, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	app := PlatformImage(t, TestPlatforms[0], []v1.Layer{base}, 2, false)
	PushImage(t, host+"/library/app:1.0", app)
	idx := PushMultiIndex(t, host+"/multi:1", []v1.Layer{base})
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	arm := im.Manifests[1].Digest.String()

	dir := t.TempDir()
	archive := filepath.Join(dir, "nginx.tar")
	if err := demoinputs.NginxImage(archive, Epoch); err != nil {
		t.Fatal(err)
	}
	nginx, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(dir, "layout")
	lp, err := ggcrlayout.Write(lay, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	web := PlatformImage(t, TestPlatforms[0], []v1.Layer{base}, 1, true)
	if err := lp.AppendImage(web, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationRefName: "web"})); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(app, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationRefName: "other"})); err != nil {
		t.Fatal(err)
	}

	appD, idxD, nginxD, webD := DigestOf(t, app), DigestOf(t, idx), DigestOf(t, nginx), DigestOf(t, web)
	two := mutate.RemoveManifests(idx, func(d v1.Descriptor) bool { return d.Digest.String() == arm })
	twoD := DigestOf(t, two)
	return Fixture{
		Host: host,
		Specs: []Spec{
			{Name: "app", Ref: host + "/library/app:1.0"},
			{Name: "app-pinned", Ref: host + "/library/app@" + appD, Digest: appD},
			{Name: "multi", Ref: host + "/multi:1"},
			{Name: "multi-arm64", Ref: host + "/multi:1", Platforms: []string{"linux/arm64"}},
			{Name: "multi-two", Ref: host + "/multi:1", Platforms: []string{"linux/amd64", "linux/s390x"}},
			{Name: "nginx", Ref: "docker-archive:" + archive},
			{Name: "web", Ref: "oci-layout:" + lay + ":web"},
		},
		Want: map[string]string{
			"app": appD, "app-pinned": appD, "multi": idxD, "multi-arm64": arm,
			"multi-two": twoD, "nginx": nginxD, "web": webD,
		},
		WantSrc: map[string]string{
			"app": appD, "app-pinned": appD, "multi": idxD, "multi-arm64": idxD,
			"multi-two": idxD, "nginx": nginxD, "web": webD,
		},
		Indexes: map[string]bool{"multi": true, "multi-two": true},
		Docker:  map[string]bool{"app": true, "app-pinned": true, "nginx": true},
		Platforms: map[string][]string{
			"app": {"linux/amd64"}, "app-pinned": {"linux/amd64"},
			"multi":       {"linux/amd64", "linux/arm64/v8", "linux/s390x"},
			"multi-arm64": {"linux/arm64/v8"}, "multi-two": {"linux/amd64", "linux/s390x"},
			"nginx": {"linux/amd64"}, "web": {"linux/amd64"},
		},
	}
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Epoch is the time stamp of the fixture's docker archive.
const Epoch = 1426032000

// Spec is one image of a Fixture, as images.Spec names it.
type Spec struct {
	Name, Ref string
	Platforms []string
	Digest    string
}
