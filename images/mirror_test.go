package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/progress"
)

const testEpoch = 1426032000

// fixture is a source registry plus local sources, and the digests the
// mirrored images must have.
type fixture struct {
	host      string
	specs     []Spec
	want      map[string]string // name → digest in the layout
	wantSrc   map[string]string // name → digest the ref resolves to
	indexes   map[string]bool   // names stored as an index
	docker    map[string]bool   // names whose source has Docker media types
	platforms map[string][]string
}

func newFixture(t testing.TB, host string) fixture {
	t.Helper()
	base, err := random.Layer(4096, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	app := platformImage(t, testPlatforms[0], []v1.Layer{base}, 2, false)
	pushImage(t, host+"/library/app:1.0", app)
	idx := pushMultiIndex(t, host+"/multi:1", []v1.Layer{base})
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	arm := im.Manifests[1].Digest.String()

	dir := t.TempDir()
	archive := filepath.Join(dir, "nginx.tar")
	if err := demoinputs.NginxImage(archive, testEpoch); err != nil {
		t.Fatal(err)
	}
	nginx, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(dir, "layout")
	lp, err := layout.Write(lay, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	web := platformImage(t, testPlatforms[0], []v1.Layer{base}, 1, true)
	if err := lp.AppendImage(web, layout.WithAnnotations(map[string]string{AnnotationRefName: "web"})); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(app, layout.WithAnnotations(map[string]string{AnnotationRefName: "other"})); err != nil {
		t.Fatal(err)
	}

	appD, idxD, nginxD, webD := digestOf(t, app), digestOf(t, idx), digestOf(t, nginx), digestOf(t, web)
	two, err := selectPlatforms(artifact{idx: idx}, []string{"linux/amd64", "linux/s390x"})
	if err != nil {
		t.Fatal(err)
	}
	twoD := digestOf(t, two.idx)
	return fixture{
		host: host,
		specs: []Spec{
			{Name: "app", Ref: host + "/library/app:1.0"},
			{Name: "app-pinned", Ref: host + "/library/app@" + appD, Digest: appD},
			{Name: "multi", Ref: host + "/multi:1"},
			{Name: "multi-arm64", Ref: host + "/multi:1", Platforms: []string{"linux/arm64"}},
			{Name: "multi-two", Ref: host + "/multi:1", Platforms: []string{"linux/amd64", "linux/s390x"}},
			{Name: "nginx", Ref: "docker-archive:" + archive},
			{Name: "web", Ref: "oci-layout:" + lay + ":web"},
		},
		want: map[string]string{
			"app": appD, "app-pinned": appD, "multi": idxD, "multi-arm64": arm,
			"multi-two": twoD, "nginx": nginxD, "web": webD,
		},
		wantSrc: map[string]string{
			"app": appD, "app-pinned": appD, "multi": idxD, "multi-arm64": idxD,
			"multi-two": idxD, "nginx": nginxD, "web": webD,
		},
		indexes: map[string]bool{"multi": true, "multi-two": true},
		docker:  map[string]bool{"app": true, "app-pinned": true, "nginx": true},
		platforms: map[string][]string{
			"app": {"linux/amd64"}, "app-pinned": {"linux/amd64"},
			"multi":       {"linux/amd64", "linux/arm64/v8", "linux/s390x"},
			"multi-arm64": {"linux/arm64/v8"}, "multi-two": {"linux/amd64", "linux/s390x"},
			"nginx": {"linux/amd64"}, "web": {"linux/amd64"},
		},
	}
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
	for _, rk := range registryKinds {
		t.Run(rk.name, func(t *testing.T) {
			host := rk.start(t)
			fx := newFixture(t, host)
			ctx := context.Background()

			// Preserve: every digest is the upstream one.
			dir := filepath.Join(t.TempDir(), "images")
			res := mirrorAndCheck(t, fx, dir, Preserve)
			for _, r := range res {
				if r.Digest != fx.want[r.Name] {
					t.Errorf("%s: digest %s, want %s", r.Name, r.Digest, fx.want[r.Name])
				}
			}
			// skopeo's oci: transport reads only OCI media types.
			var ociOnly []Result
			for _, r := range res {
				if !fx.docker[r.Name] {
					ociOnly = append(ociOnly, r)
				}
			}
			checkSkopeo(t, fx, dir, ociOnly, "preserve")
			checkPush(t, fx, dir, res)

			// OCI: Docker media types rewritten, OCI sources untouched, and
			// skopeo reads every entry.
			odir := filepath.Join(t.TempDir(), "images")
			ores := mirrorAndCheck(t, fx, odir, OCI)
			for _, r := range ores {
				switch {
				case fx.docker[r.Name] && (r.Digest == fx.want[r.Name] || r.MediaType != string(types.OCIManifestSchema1)):
					t.Errorf("%s: not converted: %s %s", r.Name, r.MediaType, r.Digest)
				case !fx.docker[r.Name] && r.Digest != fx.want[r.Name]:
					t.Errorf("%s: OCI source changed: %s, want %s", r.Name, r.Digest, fx.want[r.Name])
				}
			}
			checkSkopeo(t, fx, odir, ores, "oci")
			_ = ctx
		})
	}
}

func mirrorAndCheck(t *testing.T, fx fixture, dir string, mt MediaTypes) []Result {
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
		if r.SourceDigest != fx.wantSrc[r.Name] {
			t.Errorf("%s: source digest %s, want %s", r.Name, r.SourceDigest, fx.wantSrc[r.Name])
		}
		if isIdx := types.MediaType(r.MediaType).IsIndex(); isIdx != fx.indexes[r.Name] {
			t.Errorf("%s: media type %s", r.Name, r.MediaType)
		}
		if !slices.Equal(r.Platforms, fx.platforms[r.Name]) {
			t.Errorf("%s: platforms %q, want %q", r.Name, r.Platforms, fx.platforms[r.Name])
		}
		c := rec.tasks["image "+r.Name]
		if c == nil || c.N.Load() != r.Size || r.Size == 0 {
			t.Errorf("%s: progress %v, size %d", r.Name, c, r.Size)
		}
	}
	if got := Repository(fx.specs[0]); got != "library/app" {
		t.Errorf("Repository = %q", got)
	}
	if err := VerifyLayout(ctx, dir); err != nil {
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
		raw := skopeo(t, "inspect", "--raw", src)
		sum := sha256.Sum256([]byte(raw))
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != r.Digest {
			t.Errorf("skopeo inspect --raw %s: digest %s, want %s", r.Name, got, r.Digest)
		}
		if !fx.indexes[r.Name] {
			var info struct{ Digest string }
			if err := json.Unmarshal([]byte(skopeo(t, "inspect", src)), &info); err != nil {
				t.Fatal(err)
			}
			if info.Digest != r.Digest {
				t.Errorf("skopeo inspect %s: digest %s, want %s", r.Name, info.Digest, r.Digest)
			}
		}
		dst := fx.host + "/skopeo-" + prefix + "/" + r.Name + ":latest"
		args := []string{"copy", "--preserve-digests", "--dest-tls-verify=false"}
		if fx.indexes[r.Name] {
			args = append(args, "--all")
		}
		skopeo(t, append(args, src, "docker://"+dst)...)
		d, err := remote.Head(ref(t, dst))
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
	pushed, err := Push(ctx, dir, fx.host, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != len(res) {
		t.Fatalf("pushed %d of %d", len(pushed), len(res))
	}
	var uploaded int64
	for _, p := range pushed {
		want := fx.want[p.Name]
		if p.Digest != want || p.Ref != SiteRef(fx.host, p.Repository, want) {
			t.Errorf("pushed %s as %s (%s), want %s", p.Name, p.Ref, p.Digest, want)
		}
		d, err := remote.Head(ref(t, p.Ref))
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
	again, err := Push(ctx, dir, fx.host, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range again {
		if p.UploadedBytes != 0 || p.UploadedBlobs != 0 || p.SkippedBlobs == 0 || p.SkippedBytes == 0 {
			t.Errorf("second push of %s: uploaded %d bytes in %d blobs, skipped %d blobs", p.Name, p.UploadedBytes, p.UploadedBlobs, p.SkippedBlobs)
		}
	}
	tagged := fx.host + "/library/app:1.0"
	if d, err := remote.Head(ref(t, tagged)); err != nil || d.Digest.String() != fx.want["app"] {
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
		names = append(names, d.Annotations[AnnotationRefName])
		if d.Annotations[AnnotationRepository] == "" || d.Annotations[AnnotationName] != d.Annotations[AnnotationRefName] {
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
	host := startGGCR(t, nil)
	fx := newFixture(t, host)
	ctx := context.Background()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{a, b} {
		if _, err := Mirror(ctx, d, fx.specs, Options{Workers: 3}); err != nil {
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
