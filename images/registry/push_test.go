package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPushStream pushes a layout read as a stream (every kind of entry:
// images, indexes, a platform selection, an OCI conversion per spec), then
// again; the second push commits nothing. List and ListStream agree.
func TestPushStream(t *testing.T) {
	src := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, src)
	specs := slices.Clone(fx.specs)
	for i := range specs {
		if specs[i].Name == "nginx" {
			specs[i].MediaTypes = layout.OCI
		}
	}
	dir := filepath.Join(t.TempDir(), "images")
	res, err := images.Mirror(context.Background(), dir, specs, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := layout.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := layout.ListStream(context.Background(), imagetest.DirWalk(dir))
	if err != nil || !slices.EqualFunc(entries, streamed, func(a, b layout.Entry) bool {
		return a.Name == b.Name && a.Digest == b.Digest && a.Size == b.Size && slices.Equal(a.Platforms, b.Platforms)
	}) {
		t.Fatalf("ListStream: %v\n%+v\nList: %+v", err, streamed, entries)
	}
	for _, r := range res {
		i := slices.IndexFunc(entries, func(e layout.Entry) bool { return e.Name == r.Name })
		if i < 0 {
			t.Fatalf("List lacks %s", r.Name)
		}
		e := entries[i]
		if e.Digest != r.Digest || e.SourceDigest != r.SourceDigest || e.Size != r.Size || !slices.Equal(e.Platforms, r.Platforms) || e.MediaType != r.MediaType {
			t.Errorf("%s: List %+v, images.Mirror %+v", r.Name, e, r)
		}
		if want := map[bool]layout.MediaTypes{true: layout.OCI, false: layout.Preserve}[r.Name == "nginx"]; e.MediaTypes != want {
			t.Errorf("%s: media types %s, want %s", r.Name, e.MediaTypes, want)
		}
	}

	uc := &imagetest.UploadCounter{}
	dst := imagetest.StartGGCR(t, func(h http.Handler) http.Handler { uc.H = h; return uc })
	pushed, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), dst, registry.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != len(res) || uc.Commits.Load() == 0 {
		t.Fatalf("pushed %d of %d images, %d blobs", len(pushed), len(res), uc.Commits.Load())
	}
	for _, p := range pushed {
		d, err := remote.Head(imagetest.Ref(t, p.Ref))
		if err != nil || d.Digest.String() != p.Digest {
			t.Errorf("%s: registry serves %v for %s: %v", p.Name, d, p.Ref, err)
		}
	}
	first := uc.Commits.Load()
	again, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), dst, registry.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := uc.Commits.Load() - first; n != 0 {
		t.Errorf("second push committed %d blobs", n)
	}
	for _, p := range again {
		if p.Changed() || p.SkippedBlobs == 0 {
			t.Errorf("second push of %s: %+v", p.Name, p)
		}
	}
	// The directory push finds everything there as well.
	viaDir, err := registry.Push(context.Background(), dir, dst, registry.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range viaDir {
		if p.Changed() {
			t.Errorf("directory push after the stream push of %s: %+v", p.Name, p)
		}
	}
}

// TestPushRetries: transient failures of blob uploads are retried — by
// go-containerregistry for a directory, by another pass over the stream
// for a stream — and the push completes.
func TestPushRetries(t *testing.T) {
	src := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := images.Mirror(context.Background(), dir, fx.specs, images.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		push func(host string) ([]registry.Pushed, error)
	}{
		{"stream", func(r string) ([]registry.Pushed, error) {
			return registry.PushStream(context.Background(), imagetest.DirWalk(dir), r, registry.PushOptions{Options: registry.Options{Backoff: time.Millisecond}})
		}},
		{"directory", func(r string) ([]registry.Pushed, error) {
			return registry.Push(context.Background(), dir, r, registry.PushOptions{Options: registry.Options{Backoff: time.Millisecond}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uc := &imagetest.UploadCounter{Fail: map[int64]int{2: http.StatusServiceUnavailable, 3: http.StatusBadGateway}}
			dst := imagetest.StartGGCR(t, func(h http.Handler) http.Handler { uc.H = h; return uc })
			pushed, err := tc.push(dst)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pushed {
				if d, err := remote.Head(imagetest.Ref(t, p.Ref)); err != nil || d.Digest.String() != p.Digest {
					t.Errorf("%s: %v %v", p.Name, d, err)
				}
			}
			if uc.Patches.Load() < 3 {
				t.Errorf("only %d blob uploads: the failures were not hit", uc.Patches.Load())
			}
		})
	}
	// A failure that does not go away stops the stream push after the
	// retries, naming the blob; the blobs done before stay done.
	uc := &imagetest.UploadCounter{Fail: map[int64]int{}}
	for i := int64(2); i < 100; i++ {
		uc.Fail[i] = http.StatusServiceUnavailable
	}
	dst := imagetest.StartGGCR(t, func(h http.Handler) http.Handler { uc.H = h; return uc })
	_, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), dst, registry.PushOptions{Options: registry.Options{Backoff: time.Millisecond, Retries: 2}})
	if err == nil || !strings.Contains(err.Error(), "pushing image") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("persistent 503: %v", err)
	}
	if uc.Commits.Load() != 1 {
		t.Errorf("%d blobs committed before the outage, want 1", uc.Commits.Load())
	}
}

// TestPushRefusesTamperedBlob: a layer changed in the layout is never
// committed; the registry keeps nothing of it.
func TestPushRefusesTamperedBlob(t *testing.T) {
	src := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := images.Mirror(context.Background(), dir, fx.specs[:1], images.Options{}); err != nil {
		t.Fatal(err)
	}
	es, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	var biggest string
	var size int64
	for _, e := range es {
		if fi, _ := e.Info(); fi.Size() > size {
			biggest, size = e.Name(), fi.Size()
		}
	}
	entries, err := layout.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blobs", "sha256", biggest)
	b, _ := os.ReadFile(p)
	b[10] ^= 1
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		push func(string) error
	}{
		{"stream", func(r string) error {
			_, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), r, registry.PushOptions{Options: registry.Options{Backoff: time.Millisecond}})
			return err
		}},
		{"directory", func(r string) error {
			_, err := registry.Push(context.Background(), dir, r, registry.PushOptions{Options: registry.Options{Backoff: time.Millisecond}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uc := &imagetest.UploadCounter{}
			dst := imagetest.StartGGCR(t, func(h http.Handler) http.Handler { uc.H = h; return uc })
			err := tc.push(dst)
			if err == nil || !strings.Contains(err.Error(), biggest) {
				t.Fatalf("tampered blob: %v", err)
			}
			for _, e := range entries {
				repo := imagetest.Ref(t, dst+"/"+e.Repository+"@"+e.Digest).Context()
				if _, err := remote.Head(repo.Digest(e.Digest)); err == nil {
					t.Errorf("the registry holds manifest %s after a failed push", e.Digest)
				}
				l, err := remote.Layer(repo.Digest("sha256:" + biggest))
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := partial.Exists(l); err != nil || ok {
					t.Errorf("the registry holds the tampered blob: %v %v", ok, err)
				}
			}
		})
	}
}

// TestPushRefusesPlainHTTP: go-containerregistry falls back to plain HTTP
// for a private address when HTTPS fails; push refuses that fallback
// unless the host is listed insecure.
func TestPushRefusesPlainHTTP(t *testing.T) {
	src := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := images.Mirror(context.Background(), dir, fx.specs[:1], images.Options{}); err != nil {
		t.Fatal(err)
	}
	nn := &imagetest.NoNetwork{}
	_, err := registry.Push(context.Background(), dir, "10.255.0.7:5000", registry.PushOptions{Options: registry.Options{Transport: nn, Retries: -1}})
	if err == nil || !strings.Contains(err.Error(), "plain HTTP refused for registry 10.255.0.7:5000") {
		t.Fatalf("push to a private address: %v", err)
	}
	if slices.Contains(nn.Schemes, "http") {
		t.Errorf("a plain-HTTP request reached the network: %q", nn.Schemes)
	}
	nn = &imagetest.NoNetwork{}
	_, err = registry.Push(context.Background(), dir, "10.255.0.7:5000", registry.PushOptions{Options: registry.Options{Transport: nn, Retries: -1, Insecure: []string{"10.255.0.7"}}})
	if err == nil || strings.Contains(err.Error(), "plain HTTP refused") || !slices.Contains(nn.Schemes, "http") {
		t.Fatalf("push to a listed insecure registry: %v (requests %q)", err, nn.Schemes)
	}
}

// TestPushRealWorldLayouts pushes the OCI layouts go-containerregistry
// keeps as test data (written by other tools than ours, without our
// annotations) to the distribution registry, from the directory and as a
// stream, and checks each digest with skopeo; a layout with an entry of a
// media type that is neither image nor index is refused, naming it.
func TestPushRealWorldLayouts(t *testing.T) {
	td := filepath.Join(imagetest.ModuleDir(t, "github.com/google/go-containerregistry"), "pkg", "v1", "layout", "testdata")
	host := imagetest.StartDistribution(t)
	for _, name := range []string{"test_gc_index"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(td, name)
			if err := layout.Verify(context.Background(), dir); err != nil {
				t.Fatalf("the test data does not verify: %v", err)
			}
			entries, err := layout.List(dir)
			if err != nil {
				t.Fatal(err)
			}
			pushed, err := registry.Push(context.Background(), dir, host, registry.PushOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(pushed) != len(entries) || len(pushed) == 0 {
				t.Fatalf("pushed %d of %d entries", len(pushed), len(entries))
			}
			for i, p := range pushed {
				if p.Digest != entries[i].Digest {
					t.Errorf("entry %d: pushed %s, listed %s", i, p.Digest, entries[i].Digest)
				}
				out := imagetest.Skopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+p.Ref)
				if got := "sha256:" + imagetest.SHA256Hex([]byte(out)); got != p.Digest {
					t.Errorf("%s: skopeo reads a manifest hashing to %s", p.Ref, got)
				}
			}
			again, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), host, registry.PushOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range again {
				if p.Changed() {
					t.Errorf("stream re-push of %s: %+v", p.Ref, p)
				}
			}
		})
	}
	for name, want := range map[string]string{
		"test_index":            `unsupported media type "application/vnd.oci.descriptor.v1+json"`,
		"test_index_one_image":  "has neither a repository nor a name annotation",
		"test_index_media_type": "has neither a repository nor a name annotation",
	} {
		_, err := registry.Push(context.Background(), filepath.Join(td, name), host, registry.PushOptions{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestPushRegistryStopsAnswering: a registry that takes requests but never
// answers fails the push after Options.AnswerTimeout instead of hanging it.
func TestPushRegistryStopsAnswering(t *testing.T) {
	src := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := images.Mirror(context.Background(), dir, fx.specs[:1], images.Options{}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	silent := imagetest.StartGGCR(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
	})
	defer close(release)
	for _, tc := range []struct {
		name string
		push func() error
	}{
		{"directory", func() error {
			_, err := registry.Push(context.Background(), dir, silent, registry.PushOptions{Options: registry.Options{AnswerTimeout: 200 * time.Millisecond, Retries: -1}})
			return err
		}},
		{"stream", func() error {
			_, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), silent, registry.PushOptions{Options: registry.Options{AnswerTimeout: 200 * time.Millisecond, Retries: -1}})
			return err
		}},
	} {
		start := time.Now()
		err := tc.push()
		if err == nil || !errors.Is(err, registry.ErrNoAnswer) || !strings.Contains(err.Error(), "no answer within 200ms") {
			t.Errorf("%s: %v", tc.name, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %s", tc.name, d)
		}
	}
}

// TestPushRefusesLyingHead: a registry that answers HEAD of a blob with 200
// and a Content-Length that is not the blob's does not get the blob
// skipped: the push fails naming the blob.
func TestPushRefusesLyingHead(t *testing.T) {
	dir, m := imagetest.OneImageLayout(t)
	raw, err := os.ReadFile(imagetest.BlobPath(dir, m))
	if err != nil {
		t.Fatal(err)
	}
	var mf v1.Manifest
	if err := json.Unmarshal(raw, &mf); err != nil {
		t.Fatal(err)
	}
	layer := mf.Layers[0]
	h := imagetest.StartHostile(t)
	h.On(http.MethodHead, "/blobs/"+layer.Digest.String(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "7")
		w.Header().Set("Docker-Content-Digest", layer.Digest.String())
		w.WriteHeader(http.StatusOK)
	})
	_, err = registry.Push(context.Background(), dir, h.Host, registry.PushOptions{Options: quick().Options})
	if !errors.Is(err, layout.ErrDigestMismatch) || !strings.Contains(err.Error(), layer.Digest.String()) || !strings.Contains(err.Error(), "as 7 bytes") {
		t.Fatalf("push to a registry that lies in HEAD: %v", err)
	}
}

// TestPushHoldsIndexToVerified: given the verified index.json's sha256,
// push (directory and stream) refuses a layout whose index.json changed
// since, before anything is sent; the rest of the layout is named by
// digests from index.json.
func TestPushHoldsIndexToVerified(t *testing.T) {
	dir, _ := imagetest.OneImageLayout(t)
	p := filepath.Join(dir, "index.json")
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	verified := imagetest.SHA256Hex(orig)
	for _, tc := range []struct {
		name string
		push func(host string, o registry.PushOptions) error
	}{
		{"directory", func(r string, o registry.PushOptions) error {
			_, err := registry.Push(context.Background(), dir, r, o)
			return err
		}},
		{"stream", func(r string, o registry.PushOptions) error {
			_, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), r, o)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(p, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			o := registry.PushOptions{Options: quick().Options, IndexSHA256: verified}
			if err := tc.push(imagetest.StartGGCR(t, nil), o); err != nil {
				t.Fatalf("push of the verified layout: %v", err)
			}
			if err := os.WriteFile(p, append(append([]byte(nil), orig...), ' '), 0o644); err != nil {
				t.Fatal(err)
			}
			var sent atomic.Int32
			r := imagetest.StartGGCR(t, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					if req.Method != http.MethodGet && req.Method != http.MethodHead {
						sent.Add(1)
					}
					h.ServeHTTP(w, req)
				})
			})
			err := tc.push(r, o)
			if !errors.Is(err, layout.ErrDigestMismatch) || !strings.Contains(err.Error(), "changed since it was verified") {
				t.Fatalf("push of a layout whose index.json changed: %v", err)
			}
			if sent.Load() != 0 {
				t.Errorf("%d writes reached the registry", sent.Load())
			}
		})
	}
}
