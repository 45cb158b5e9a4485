package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/progress"
)

// fixture is imagetest's fixture with its specs as Mirror takes them.
type fixture struct {
	imagetest.Fixture
	specs []Spec
}

func newFixture(t testing.TB, host string) fixture {
	t.Helper()
	f := imagetest.NewFixture(t, host)
	return fixture{Fixture: f, specs: toSpecs(f.Specs)}
}

// toSpecs gives imagetest's specs as images.Mirror takes them.
func toSpecs(ss []imagetest.Spec) []Spec {
	var out []Spec
	for _, s := range ss {
		out = append(out, Spec{Name: s.Name, Ref: s.Ref, Platforms: s.Platforms, Digest: s.Digest})
	}
	return out
}

// recorder is a progress.Reporter that remembers task names and bytes.
type recorder struct {
	mu    sync.Mutex
	tasks map[string]*progress.Counter
}

func (r *recorder) Start(name string, total int64) progress.Task {
	c := &progress.Counter{}
	r.mu.Lock()
	r.tasks[name] = c
	r.mu.Unlock()
	return c
}

func TestMirrorRegistries(t *testing.T) {
	for _, rk := range imagetest.RegistryKinds {
		t.Run(rk.Name, func(t *testing.T) {
			host := rk.Start(t)
			fx := newFixture(t, host)
			ctx := context.Background()

			// Preserve: every digest is the upstream one.
			dir := filepath.Join(t.TempDir(), "images")
			res := mirrorAndCheck(t, fx, dir, layout.Preserve)
			for _, r := range res {
				if r.Digest != fx.Want[r.Name] {
					t.Errorf("%s: digest %s, want %s", r.Name, r.Digest, fx.Want[r.Name])
				}
			}
			// skopeo's oci: transport reads only OCI media types.
			var ociOnly []Result
			for _, r := range res {
				if !fx.Docker[r.Name] {
					ociOnly = append(ociOnly, r)
				}
			}
			checkSkopeo(t, fx, dir, ociOnly, "preserve")
			checkPush(t, fx, dir, res)

			// OCI: Docker media types rewritten, OCI sources untouched, and
			// skopeo reads every entry.
			odir := filepath.Join(t.TempDir(), "images")
			ores := mirrorAndCheck(t, fx, odir, layout.OCI)
			for _, r := range ores {
				switch {
				case fx.Docker[r.Name] && (r.Digest == fx.Want[r.Name] || r.MediaType != string(types.OCIManifestSchema1)):
					t.Errorf("%s: not converted: %s %s", r.Name, r.MediaType, r.Digest)
				case !fx.Docker[r.Name] && r.Digest != fx.Want[r.Name]:
					t.Errorf("%s: OCI source changed: %s, want %s", r.Name, r.Digest, fx.Want[r.Name])
				}
			}
			checkSkopeo(t, fx, odir, ores, "oci")
			_ = ctx
		})
	}
}

func mirrorAndCheck(t *testing.T, fx fixture, dir string, mt layout.MediaTypes) []Result {
	t.Helper()
	ctx := context.Background()
	rec := &recorder{tasks: map[string]*progress.Counter{}}
	res, err := Mirror(ctx, dir, fx.specs, Options{Progress: rec, MediaTypes: mt})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(fx.specs) {
		t.Fatalf("%d results for %d specs", len(res), len(fx.specs))
	}
	for i, r := range res {
		if r.Name != fx.specs[i].Name {
			t.Errorf("result %d is %q, want %q", i, r.Name, fx.specs[i].Name)
		}
		if r.SourceDigest != fx.WantSrc[r.Name] {
			t.Errorf("%s: source digest %s, want %s", r.Name, r.SourceDigest, fx.WantSrc[r.Name])
		}
		if isIdx := types.MediaType(r.MediaType).IsIndex(); isIdx != fx.Indexes[r.Name] {
			t.Errorf("%s: media type %s", r.Name, r.MediaType)
		}
		if !slices.Equal(r.Platforms, fx.Platforms[r.Name]) {
			t.Errorf("%s: platforms %q, want %q", r.Name, r.Platforms, fx.Platforms[r.Name])
		}
		c := rec.tasks["image "+r.Name]
		if c == nil || c.N.Load() != r.Size || r.Size == 0 {
			t.Errorf("%s: progress %v, size %d", r.Name, c, r.Size)
		}
	}
	if got := Repository(fx.specs[0]); got != "library/app" {
		t.Errorf("Repository = %q", got)
	}
	if err := layout.Verify(ctx, dir); err != nil {
		t.Fatal(err)
	}
	checkIndexJSON(t, dir, res)
	dirHasOnly(t, filepath.Dir(dir), "images")
	return res
}

// checkSkopeo has skopeo read the layout and copy it to the registry: the
// digests must be the layout's.
func checkSkopeo(t *testing.T, fx fixture, dir string, res []Result, prefix string) {
	t.Helper()
	for _, r := range res {
		src := "oci:" + dir + ":" + r.Name
		raw := imagetest.Skopeo(t, "inspect", "--raw", src)
		sum := sha256.Sum256([]byte(raw))
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != r.Digest {
			t.Errorf("skopeo inspect --raw %s: digest %s, want %s", r.Name, got, r.Digest)
		}
		if !fx.Indexes[r.Name] {
			var info struct{ Digest string }
			if err := json.Unmarshal([]byte(imagetest.Skopeo(t, "inspect", src)), &info); err != nil {
				t.Fatal(err)
			}
			if info.Digest != r.Digest {
				t.Errorf("skopeo inspect %s: digest %s, want %s", r.Name, info.Digest, r.Digest)
			}
		}
		dst := fx.Host + "/skopeo-" + prefix + "/" + r.Name + ":latest"
		args := []string{"copy", "--preserve-digests", "--dest-tls-verify=false"}
		if fx.Indexes[r.Name] {
			args = append(args, "--all")
		}
		imagetest.Skopeo(t, append(args, src, "docker://"+dst)...)
		d, err := remote.Head(imagetest.Ref(t, dst))
		if err != nil {
			t.Fatal(err)
		}
		if d.Digest.String() != r.Digest {
			t.Errorf("skopeo copy %s: registry has %s, want %s", r.Name, d.Digest, r.Digest)
		}
	}
}

// checkPush pushes the layout to the registry, then again: the second push
// uploads nothing.
func checkPush(t *testing.T, fx fixture, dir string, res []Result) {
	t.Helper()
	ctx := context.Background()
	pushed, err := registry.Push(ctx, dir, fx.Host, registry.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != len(res) {
		t.Fatalf("pushed %d of %d", len(pushed), len(res))
	}
	var uploaded int64
	for _, p := range pushed {
		want := fx.Want[p.Name]
		if p.Digest != want || p.Ref != registry.SiteRef(fx.Host, p.Repository, want) {
			t.Errorf("pushed %s as %s (%s), want %s", p.Name, p.Ref, p.Digest, want)
		}
		d, err := remote.Head(imagetest.Ref(t, p.Ref))
		if err != nil {
			t.Fatal(err)
		}
		if d.Digest.String() != want {
			t.Errorf("registry serves %s for %s", d.Digest, p.Ref)
		}
		uploaded += p.UploadedBytes
	}
	if uploaded == 0 {
		t.Error("first push uploaded no bytes")
	}
	again, err := registry.Push(ctx, dir, fx.Host, registry.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range again {
		if p.UploadedBytes != 0 || p.UploadedBlobs != 0 || p.SkippedBlobs == 0 || p.SkippedBytes == 0 {
			t.Errorf("second push of %s: uploaded %d bytes in %d blobs, skipped %d blobs", p.Name, p.UploadedBytes, p.UploadedBlobs, p.SkippedBlobs)
		}
	}
	tagged := fx.Host + "/library/app:1.0"
	if d, err := remote.Head(imagetest.Ref(t, tagged)); err != nil || d.Digest.String() != fx.Want["app"] {
		t.Errorf("tag %s: %v %v", tagged, d, err)
	}
}

// checkIndexJSON checks index.json lists every result by name, sorted,
// with the annotations deploy needs.
func checkIndexJSON(t *testing.T, dir string, res []Result) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(b, &im); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range im.Manifests {
		names = append(names, d.Annotations[layout.AnnotationRefName])
		if d.Annotations[layout.AnnotationRepository] == "" || d.Annotations[layout.AnnotationName] != d.Annotations[layout.AnnotationRefName] {
			t.Errorf("entry %s: annotations %v", d.Digest, d.Annotations)
		}
		for _, v := range d.Annotations {
			if strings.Contains(v, os.TempDir()) {
				t.Errorf("entry %s: annotation %q holds an absolute path", d.Digest, v)
			}
		}
	}
	if !slices.IsSorted(names) || len(names) != len(res) {
		t.Errorf("index.json names %q: want %d sorted", names, len(res))
	}
}

// dirHasOnly fails when dir holds anything but names.
func dirHasOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}

func TestMirrorReproducible(t *testing.T) {
	host := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, host)
	ctx := context.Background()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{a, b} {
		if _, err := Mirror(ctx, d, fx.specs, Options{Options: registry.Options{Workers: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	ta, tb := tree(t, a), tree(t, b)
	if len(ta) < 10 {
		t.Fatalf("layout has only %d files", len(ta))
	}
	for p, da := range ta {
		if db, ok := tb[p]; !ok || !bytes.Equal(da, db) {
			t.Errorf("%s differs between two mirrors", p)
		}
	}
	if len(ta) != len(tb) {
		t.Errorf("%d files vs %d", len(ta), len(tb))
	}

	// Mirroring again into the same directory replaces it and gives the
	// same bytes again (blobs come from the previous layout).
	if _, err := Mirror(ctx, a, fx.specs, Options{}); err != nil {
		t.Fatal(err)
	}
	if tc := tree(t, a); len(tc) != len(ta) || !bytes.Equal(tc["index.json"], ta["index.json"]) {
		t.Error("re-mirror into the same directory changed the layout")
	}
	dirHasOnly(t, filepath.Dir(a), "a")
}

func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMirrorAsksOnce resolves specs as a build gathers its facts (one
// Resolve per spec), then mirrors them with the same Resolutions: each
// manifest and index is asked of the registry once, and the mirror stores
// what was resolved.
func TestMirrorAsksOnce(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	host := imagetest.StartGGCR(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				mu.Lock()
				asked[r.URL.Path]++
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	f := newFixture(t, host)
	var specs []Spec
	for _, s := range f.specs {
		if src, err := ParseSource(s.Ref); err == nil && src.Kind == Registry {
			specs = append(specs, s)
		}
	}
	if len(specs) < 2 {
		t.Fatalf("fixture has %d registry specs, want at least 2", len(specs))
	}
	// A conversion of a Docker-typed source reads its manifests as well.
	specs = append(specs, Spec{Name: "app-oci", Ref: host + "/library/app:1.0", MediaTypes: layout.OCI})
	mu.Lock()
	clear(asked)
	mu.Unlock()
	opts := Options{Resolved: &Resolutions{}}
	var resolved []Result
	for _, s := range specs {
		r, err := Resolve(context.Background(), "", []Spec{s}, opts)
		if err != nil {
			t.Fatal(err)
		}
		resolved = append(resolved, r[0])
	}
	mu.Lock()
	afterResolve := len(asked)
	mu.Unlock()
	if afterResolve == 0 {
		t.Fatal("Resolve asked the registry for no manifest")
	}
	out := filepath.Join(t.TempDir(), "images")
	res, err := Mirror(context.Background(), out, specs, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Digest != resolved[i].Digest || r.SourceDigest != resolved[i].SourceDigest || r.MediaType != resolved[i].MediaType {
			t.Errorf("image %s: mirrored %+v, resolved %+v", r.Name, r, resolved[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for p, n := range asked {
		if n != 1 {
			t.Errorf("%s asked %d times, want once", p, n)
		}
	}
	if err := layout.Verify(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}
