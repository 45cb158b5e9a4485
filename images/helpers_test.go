package images

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// startGGCR starts go-containerregistry's in-process registry wrapped by
// wrap (nil = none) and returns its host:port.
func startGGCR(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// startDistribution runs Debian's docker-registry (the distribution server)
// on a free loopback port with filesystem storage in a temporary directory.
func startDistribution(t testing.TB) string {
	t.Helper()
	return testutil.DockerRegistry(t, "")
}

type registryKind struct {
	name  string
	start func(testing.TB) string
}

var registryKinds = []registryKind{
	{"ggcr", func(t testing.TB) string { return startGGCR(t, nil) }},
	{"distribution", startDistribution},
}

func ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// platformImage is a random image whose config names platform p and whose
// first layers are base; with oci its media types are OCI ones, else
// Docker ones.
func platformImage(t testing.TB, p v1.Platform, base []v1.Layer, extra int64, oci bool) v1.Image {
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

var testPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "s390x"},
}

// pushMultiIndex pushes to r an OCI index of one OCI image per
// testPlatforms entry, all sharing the base layers, and returns it as the
// registry serves it. The index is written by hand, as build tools write
// them: descriptors without artifactType, which skopeo 1.9 would drop.
func pushMultiIndex(t testing.TB, r string, base []v1.Layer) v1.ImageIndex {
	t.Helper()
	dst := ref(t, r)
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, p := range testPlatforms {
		img := platformImage(t, p, base, 1, true)
		d := digestOf(t, img)
		pushImage(t, dst.Context().String()+"@"+d, img)
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
	if err := remote.Put(dst, rawIndex(raw)); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
	idx, err := remote.Index(dst)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func pushImage(t testing.TB, r string, img v1.Image) {
	t.Helper()
	if err := remote.Write(ref(t, r), img); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
}

// skopeo runs skopeo with the policy flag the machine needs.
func skopeo(t testing.TB, args ...string) string {
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

// countingHandler counts the bytes of response bodies.
type countingHandler struct {
	h http.Handler
	n atomic.Int64
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.h.ServeHTTP(&countingWriter{ResponseWriter: w, n: &c.n}, r)
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

// dirEmpty fails the test when dir holds anything.
func dirEmpty(t testing.TB, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}
