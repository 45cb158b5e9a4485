package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// dirWalk reads a layout directory as a stream, files in the sorted order
// a bundle archive holds them.
func dirWalk(dir string) WalkFunc {
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

// uploadCounter wraps a registry handler: it counts committed blob
// uploads, and fails (with status) the blob uploads numbered in fail.
type uploadCounter struct {
	h       http.Handler
	commits atomic.Int64
	patches atomic.Int64
	fail    map[int64]int
}

func (u *uploadCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") {
		switch r.Method {
		case http.MethodPatch:
			n := u.patches.Add(1)
			if code := u.fail[n]; code != 0 {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(code)
				return
			}
		case http.MethodPut:
			rec := &statusRecorder{ResponseWriter: w}
			u.h.ServeHTTP(rec, r)
			if rec.code == http.StatusCreated {
				u.commits.Add(1)
			}
			return
		}
	}
	u.h.ServeHTTP(w, r)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(c int) { s.code = c; s.ResponseWriter.WriteHeader(c) }

// TestPushStream pushes a layout read as a stream (every kind of entry:
// images, indexes, a platform selection, an OCI conversion per spec), then
// again; the second push commits nothing. List and ListStream agree.
func TestPushStream(t *testing.T) {
	src := startGGCR(t, nil)
	fx := newFixture(t, src)
	specs := slices.Clone(fx.specs)
	for i := range specs {
		if specs[i].Name == "nginx" {
			specs[i].MediaTypes = OCI
		}
	}
	dir := filepath.Join(t.TempDir(), "images")
	res, err := Mirror(context.Background(), dir, specs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := ListStream(context.Background(), dirWalk(dir))
	if err != nil || !slices.EqualFunc(entries, streamed, func(a, b Entry) bool {
		return a.Name == b.Name && a.Digest == b.Digest && a.Size == b.Size && slices.Equal(a.Platforms, b.Platforms)
	}) {
		t.Fatalf("ListStream: %v\n%+v\nList: %+v", err, streamed, entries)
	}
	for _, r := range res {
		i := slices.IndexFunc(entries, func(e Entry) bool { return e.Name == r.Name })
		if i < 0 {
			t.Fatalf("List lacks %s", r.Name)
		}
		e := entries[i]
		if e.Digest != r.Digest || e.SourceDigest != r.SourceDigest || e.Size != r.Size || !slices.Equal(e.Platforms, r.Platforms) || e.MediaType != r.MediaType {
			t.Errorf("%s: List %+v, Mirror %+v", r.Name, e, r)
		}
		if want := map[bool]MediaTypes{true: OCI, false: Preserve}[r.Name == "nginx"]; e.MediaTypes != want {
			t.Errorf("%s: media types %s, want %s", r.Name, e.MediaTypes, want)
		}
	}

	uc := &uploadCounter{}
	dst := startGGCR(t, func(h http.Handler) http.Handler { uc.h = h; return uc })
	pushed, err := PushStream(context.Background(), dirWalk(dir), dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != len(res) || uc.commits.Load() == 0 {
		t.Fatalf("pushed %d of %d images, %d blobs", len(pushed), len(res), uc.commits.Load())
	}
	for _, p := range pushed {
		d, err := remote.Head(ref(t, p.Ref))
		if err != nil || d.Digest.String() != p.Digest {
			t.Errorf("%s: registry serves %v for %s: %v", p.Name, d, p.Ref, err)
		}
	}
	first := uc.commits.Load()
	again, err := PushStream(context.Background(), dirWalk(dir), dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := uc.commits.Load() - first; n != 0 {
		t.Errorf("second push committed %d blobs", n)
	}
	for _, p := range again {
		if p.Changed() || p.SkippedBlobs == 0 {
			t.Errorf("second push of %s: %+v", p.Name, p)
		}
	}
	// The directory push finds everything there as well.
	viaDir, err := Push(context.Background(), dir, dst, Options{})
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
	src := startGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := Mirror(context.Background(), dir, fx.specs, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		push func(registry string) ([]Pushed, error)
	}{
		{"stream", func(r string) ([]Pushed, error) {
			return PushStream(context.Background(), dirWalk(dir), r, Options{Backoff: time.Millisecond})
		}},
		{"directory", func(r string) ([]Pushed, error) {
			return Push(context.Background(), dir, r, Options{Backoff: time.Millisecond})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uc := &uploadCounter{fail: map[int64]int{2: http.StatusServiceUnavailable, 3: http.StatusBadGateway}}
			dst := startGGCR(t, func(h http.Handler) http.Handler { uc.h = h; return uc })
			pushed, err := tc.push(dst)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pushed {
				if d, err := remote.Head(ref(t, p.Ref)); err != nil || d.Digest.String() != p.Digest {
					t.Errorf("%s: %v %v", p.Name, d, err)
				}
			}
			if uc.patches.Load() < 3 {
				t.Errorf("only %d blob uploads: the failures were not hit", uc.patches.Load())
			}
		})
	}
	// A failure that does not go away stops the stream push after the
	// retries, naming the blob; the blobs done before stay done.
	uc := &uploadCounter{fail: map[int64]int{}}
	for i := int64(2); i < 100; i++ {
		uc.fail[i] = http.StatusServiceUnavailable
	}
	dst := startGGCR(t, func(h http.Handler) http.Handler { uc.h = h; return uc })
	_, err := PushStream(context.Background(), dirWalk(dir), dst, Options{Backoff: time.Millisecond, Retries: 2})
	if err == nil || !strings.Contains(err.Error(), "pushing image") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("persistent 503: %v", err)
	}
	if uc.commits.Load() != 1 {
		t.Errorf("%d blobs committed before the outage, want 1", uc.commits.Load())
	}
}

// TestPushRefusesTamperedBlob: a layer changed in the layout is never
// committed; the registry keeps nothing of it.
func TestPushRefusesTamperedBlob(t *testing.T) {
	src := startGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := Mirror(context.Background(), dir, fx.specs[:1], Options{}); err != nil {
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
	entries, err := List(dir)
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
			_, err := PushStream(context.Background(), dirWalk(dir), r, Options{Backoff: time.Millisecond})
			return err
		}},
		{"directory", func(r string) error {
			_, err := Push(context.Background(), dir, r, Options{Backoff: time.Millisecond})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uc := &uploadCounter{}
			dst := startGGCR(t, func(h http.Handler) http.Handler { uc.h = h; return uc })
			err := tc.push(dst)
			if err == nil || !strings.Contains(err.Error(), biggest) {
				t.Fatalf("tampered blob: %v", err)
			}
			for _, e := range entries {
				repo := ref(t, dst+"/"+e.Repository+"@"+e.Digest).Context()
				if _, err := remote.Head(repo.Digest(e.Digest)); err == nil {
					t.Errorf("the registry holds manifest %s after a failed push", e.Digest)
				}
				h, _ := v1.NewHash("sha256:" + biggest)
				if ok, err := blobExists(context.Background(), repo, v1.Descriptor{Digest: h}, nil); err != nil || ok {
					t.Errorf("the registry holds the tampered blob: %v %v", ok, err)
				}
			}
		})
	}
}

// noNetwork is a transport that fails every request at once, recording
// which were asked of it.
type noNetwork struct {
	mu      sync.Mutex
	schemes []string
}

func (n *noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.schemes = append(n.schemes, r.URL.Scheme)
	return nil, errors.New("no TLS server here")
}

// TestPushRefusesPlainHTTP: go-containerregistry falls back to plain HTTP
// for a private address when HTTPS fails; push refuses that fallback
// unless the host is listed insecure.
func TestPushRefusesPlainHTTP(t *testing.T) {
	src := startGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := Mirror(context.Background(), dir, fx.specs[:1], Options{}); err != nil {
		t.Fatal(err)
	}
	nn := &noNetwork{}
	_, err := Push(context.Background(), dir, "10.255.0.7:5000", Options{Transport: nn, Retries: -1})
	if err == nil || !strings.Contains(err.Error(), "plain HTTP refused for registry 10.255.0.7:5000") {
		t.Fatalf("push to a private address: %v", err)
	}
	if slices.Contains(nn.schemes, "http") {
		t.Errorf("a plain-HTTP request reached the network: %q", nn.schemes)
	}
	nn = &noNetwork{}
	_, err = Push(context.Background(), dir, "10.255.0.7:5000", Options{Transport: nn, Retries: -1, Insecure: []string{"10.255.0.7"}})
	if err == nil || strings.Contains(err.Error(), "plain HTTP refused") || !slices.Contains(nn.schemes, "http") {
		t.Fatalf("push to a listed insecure registry: %v (requests %q)", err, nn.schemes)
	}
}

// moduleDir is the directory of module path in the module cache (go mod
// download fetches it from the module proxy when missing).
func moduleDir(t *testing.T, path string) string {
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

// TestPushRealWorldLayouts pushes the OCI layouts go-containerregistry
// keeps as test data (written by other tools than ours, without our
// annotations) to the distribution registry, from the directory and as a
// stream, and checks each digest with skopeo; a layout with an entry of a
// media type that is neither image nor index is refused, naming it.
func TestPushRealWorldLayouts(t *testing.T) {
	td := filepath.Join(moduleDir(t, "github.com/google/go-containerregistry"), "pkg", "v1", "layout", "testdata")
	host := startDistribution(t)
	for _, name := range []string{"test_gc_index"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(td, name)
			if err := VerifyLayout(context.Background(), dir); err != nil {
				t.Fatalf("the test data does not verify: %v", err)
			}
			entries, err := List(dir)
			if err != nil {
				t.Fatal(err)
			}
			pushed, err := Push(context.Background(), dir, host, Options{})
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
				out := skopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+p.Ref)
				if got := "sha256:" + sha256Hex([]byte(out)); got != p.Digest {
					t.Errorf("%s: skopeo reads a manifest hashing to %s", p.Ref, got)
				}
			}
			again, err := PushStream(context.Background(), dirWalk(dir), host, Options{})
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
		_, err := Push(context.Background(), filepath.Join(td, name), host, Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestPushRegistryStopsAnswering: a registry that takes requests but never
// answers fails the push after Options.AnswerTimeout instead of hanging it.
func TestPushRegistryStopsAnswering(t *testing.T) {
	src := startGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := Mirror(context.Background(), dir, fx.specs[:1], Options{}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	silent := startGGCR(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
	})
	defer close(release)
	for _, tc := range []struct {
		name string
		push func() error
	}{
		{"directory", func() error {
			_, err := Push(context.Background(), dir, silent, Options{AnswerTimeout: 200 * time.Millisecond, Retries: -1})
			return err
		}},
		{"stream", func() error {
			_, err := PushStream(context.Background(), dirWalk(dir), silent, Options{AnswerTimeout: 200 * time.Millisecond, Retries: -1})
			return err
		}},
	} {
		start := time.Now()
		err := tc.push()
		if err == nil || !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "no answer within 200ms") {
			t.Errorf("%s: %v", tc.name, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %s", tc.name, d)
		}
	}
}
