package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// hostile is a loopback registry that misbehaves on purpose: requests a
// rule matches get the rule's answer (lying sizes, endless bodies,
// silence, drips, 500s, redirects); the rest reach go-containerregistry's
// registry, which holds real images.
type hostile struct {
	host  string
	rules []hostileRule
	done  chan struct{} // closed at cleanup: silent handlers return
}

type hostileRule struct {
	method, path string // path: a substring of the URL path
	answer       func(w http.ResponseWriter, r *http.Request)
}

func startHostile(t *testing.T) *hostile {
	t.Helper()
	h := &hostile{done: make(chan struct{})}
	h.host = startGGCR(t, func(next http.Handler) http.Handler {
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

func (h *hostile) on(method, path string, answer func(w http.ResponseWriter, r *http.Request)) {
	h.rules = append(h.rules, hostileRule{method, path, answer})
}

// silence accepts the request and never answers.
func (h *hostile) silence(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-h.done:
	}
}

// drip sends the headers (announcing n bytes), then a byte every every.
func (h *hostile) drip(n int, every time.Duration) func(w http.ResponseWriter, r *http.Request) {
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
func (h *hostile) endless(b byte, claim int64, max int) func(w http.ResponseWriter, r *http.Request) {
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
		h.silence(w, r)
	}
}

// redirect sends the request on to the same path at host.
func redirect(host string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+host+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}
}

func status(code int) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, http.StatusText(code), code) }
}

// quick are the deadlines of the hostile tests.
func quick() Options {
	return Options{AnswerTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, RequestTimeout: time.Second,
		ConnectTimeout: 300 * time.Millisecond, Retries: -1, Backoff: 10 * time.Millisecond}
}

// hostileImage pushes a one-layer image as team/web:1 and returns its
// manifest.
func hostileImage(t *testing.T, h *hostile) (*v1.Manifest, string) {
	t.Helper()
	img := platformImage(t, testPlatforms[0], nil, 1, true)
	pushImage(t, h.host+"/team/web:1", img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m, digestOf(t, img)
}

// putManifest stores m as team/web:<tag> and returns its digest.
func putManifest(t *testing.T, h *hostile, tag string, m *v1.Manifest) string {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(ref(t, h.host+"/team/web:"+tag), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("sha256:%s", sha256Hex(raw))
}

// heapGrowth runs f and reports how much the heap grew.
func heapGrowth(f func()) uint64 {
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

// TestHostileRegistry: lock (Lock), validate (Resolve) and build (Mirror)
// against a registry that lies about sizes, sends endless bodies, stays
// silent, drips, fails or redirects: each ends within its deadlines with a
// clear error, reading no more than the caps.
func TestHostileRegistry(t *testing.T) {
	type verb struct {
		name string
		run  func(ctx context.Context, spec Spec, o Options) error
	}
	verbs := []verb{
		{"lock", func(ctx context.Context, s Spec, o Options) error { _, err := Lock(ctx, []Spec{s}, o); return err }},
		{"validate", func(ctx context.Context, s Spec, o Options) error {
			_, err := Resolve(ctx, "", []Spec{s}, o)
			return err
		}},
		{"build", func(ctx context.Context, s Spec, o Options) error {
			_, err := Mirror(ctx, filepath.Join(t.TempDir(), "images"), []Spec{s}, o)
			return err
		}},
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h *hostile) Spec
		// verbs that must fail (the others read nothing the rule serves)
		fail    []string
		want    error
		network bool // IsNetwork: exit 3
	}{
		{"config claims 1 TiB", func(t *testing.T, h *hostile) Spec {
			m, _ := hostileImage(t, h)
			m.Config.Size = 1 << 40
			putManifest(t, h, "huge-config", m)
			h.on(http.MethodGet, "/blobs/"+m.Config.Digest.String(), h.endless(0, 0, 64<<20))
			return Spec{Name: "web", Ref: h.host + "/team/web:huge-config", Platforms: []string{"linux/amd64"}}
		}, []string{"lock", "validate", "build"}, ErrTooLarge, false},
		{"manifest body endless", func(t *testing.T, h *hostile) Spec {
			hostileImage(t, h)
			h.on(http.MethodGet, "/manifests/", h.endless(' ', 0, 128<<20))
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, ErrTooLarge, false},
		{"manifest claims 1 TiB", func(t *testing.T, h *hostile) Spec {
			hostileImage(t, h)
			h.on(http.MethodGet, "/manifests/", h.endless(' ', 1<<40, 0))
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, ErrTooLarge, false},
		{"silence", func(t *testing.T, h *hostile) Spec {
			h.on("", "/v2/", h.silence)
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, ErrNoAnswer, true},
		{"manifest drips a byte every 100ms", func(t *testing.T, h *hostile) Spec {
			hostileImage(t, h)
			h.on(http.MethodGet, "/manifests/", h.drip(500, 100*time.Millisecond))
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, ErrNoAnswer, true},
		{"layer stalls", func(t *testing.T, h *hostile) Spec {
			m, _ := hostileImage(t, h)
			h.on(http.MethodGet, "/blobs/"+m.Layers[0].Digest.String(), h.drip(int(m.Layers[0].Size), time.Hour))
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"build"}, ErrNoAnswer, true},
		{"indexes nested 12 deep", func(t *testing.T, h *hostile) Spec {
			_, d := hostileImage(t, h)
			raw, err := remote.Get(ref(t, h.host+"/team/web@"+d))
			if err != nil {
				t.Fatal(err)
			}
			child := raw.Descriptor
			for i := range 12 {
				b, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{child}})
				tag := fmt.Sprintf("nest%d", i)
				if err := remote.Put(ref(t, h.host+"/team/web:"+tag), rawIndex(b)); err != nil {
					t.Fatal(err)
				}
				child = v1.Descriptor{MediaType: types.OCIImageIndex, Size: int64(len(b)), Digest: v1.Hash{Algorithm: "sha256", Hex: sha256Hex(b)}}
			}
			return Spec{Name: "web", Ref: h.host + "/team/web:nest11"}
		}, []string{"build"}, ErrTooDeep, false},
		{"500s", func(t *testing.T, h *hostile) Spec {
			h.on("", "/manifests/", status(http.StatusInternalServerError))
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, nil, false},
		{"manifest redirected to another host", func(t *testing.T, h *hostile) Spec {
			other := startGGCR(t, nil)
			img := platformImage(t, testPlatforms[0], nil, 1, true)
			pushImage(t, other+"/team/web:1", img)
			h.on("", "/manifests/", redirect(other))
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, ErrRedirect, false},
		{"blob redirected to another host with other bytes", func(t *testing.T, h *hostile) Spec {
			m, _ := hostileImage(t, h)
			evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write(make([]byte, m.Layers[0].Size))
			}))
			t.Cleanup(evil.Close)
			h.on(http.MethodGet, "/blobs/"+m.Layers[0].Digest.String(), redirect(strings.TrimPrefix(evil.URL, "http://")))
			return Spec{Name: "web", Ref: h.host + "/team/web:1"}
		}, []string{"build"}, ErrDigestMismatch, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHostile(t)
			spec := tc.setup(t, h)
			for _, v := range verbs {
				t.Run(v.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					start := time.Now()
					var err error
					grew := heapGrowth(func() { err = v.run(ctx, spec, quick()) })
					took := time.Since(start)
					if !slices.Contains(tc.fail, v.name) {
						return
					}
					switch {
					case err == nil:
						t.Fatalf("succeeded")
					case ctx.Err() != nil:
						t.Fatalf("hung until the test's deadline: %v", err)
					case tc.want != nil && !errors.Is(err, tc.want):
						t.Fatalf("error %v, want %v", err, tc.want)
					case IsNetwork(err) != tc.network:
						t.Errorf("IsNetwork = %v, want %v: %v", !tc.network, tc.network, err)
					}
					if took > 5*time.Second {
						t.Errorf("took %s", took)
					}
					if grew > 48<<20 {
						t.Errorf("allocated %d MiB", grew>>20)
					}
					t.Logf("%s in %s, %d KiB allocated", err, took.Round(time.Millisecond), grew>>10)
				})
			}
		})
	}
}

// TestBlobRedirectAllowed: a blob download redirected to another host (blob
// storage, as the distribution spec allows) is followed; its bytes are
// checked against the digest (TestHostileRegistry has the storage that
// serves other bytes).
func TestBlobRedirectAllowed(t *testing.T) {
	h := startHostile(t)
	storage := startGGCR(t, nil)
	img := platformImage(t, testPlatforms[0], nil, 2, true)
	pushImage(t, h.host+"/team/web:1", img)
	pushImage(t, storage+"/team/web:1", img)
	var redirected atomic.Int32
	h.on(http.MethodGet, "/blobs/", func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		redirect(storage)(w, r)
	})
	res, err := Mirror(context.Background(), filepath.Join(t.TempDir(), "images"), []Spec{{Name: "web", Ref: h.host + "/team/web:1"}}, quick())
	if err != nil {
		t.Fatal(err)
	}
	if redirected.Load() < 3 || res[0].Digest != digestOf(t, img) {
		t.Errorf("%d blob downloads redirected, digest %s", redirected.Load(), res[0].Digest)
	}
}

// TestPlainHTTPPolicy: pulling and pushing follow one plain-HTTP policy
// (internal/plainhttp): never to a registry that is neither loopback nor
// listed insecure (go-containerregistry falls back to it for RFC 1918
// addresses), and to a listed one whether it is listed with its port or
// without, for a private address and a host name alike (a pull once took
// only the exact host:port, and only from the reference's first segment).
func TestPlainHTTPPolicy(t *testing.T) {
	for _, host := range []string{"10.255.0.7", "registry.site.test"} {
		for _, tc := range []struct {
			name     string
			insecure []string
			wantHTTP bool
		}{
			{"not listed", nil, false},
			{"another host listed", []string{"10.255.0.8", "registry.other.test"}, false},
			{"listed host:port", []string{host + ":5000"}, true},
			{"listed host", []string{host}, true},
		} {
			ref := host + ":5000/team/web:1"
			for _, v := range []struct {
				name string
				run  func(o Options) error
			}{
				{"lock", func(o Options) error {
					_, err := Lock(context.Background(), []Spec{{Name: "web", Ref: ref}}, o)
					return err
				}},
				{"build", func(o Options) error {
					_, err := Mirror(context.Background(), filepath.Join(t.TempDir(), "images"), []Spec{{Name: "web", Ref: ref}}, o)
					return err
				}},
				{"push", func(o Options) error {
					dir, _ := testLayout(t)
					_, err := Push(context.Background(), dir, host+":5000", o)
					return err
				}},
			} {
				t.Run(host+"/"+tc.name+"/"+v.name, func(t *testing.T) {
					nn := &noNetwork{}
					o := quick()
					o.Transport, o.Insecure = nn, tc.insecure
					err := v.run(o)
					if err == nil {
						t.Fatal("succeeded without a registry")
					}
					if got := slices.Contains(nn.schemes, "http"); got != tc.wantHTTP {
						t.Errorf("plain HTTP requests made: %v, want %v (requests %q, error %v)", got, tc.wantHTTP, nn.schemes, err)
					}
					if !tc.wantHTTP && strings.HasPrefix(host, "10.") && (!errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), "--insecure-registry")) {
						t.Errorf("error %v, want one naming --insecure-registry", err)
					}
				})
			}
		}
	}
}

// TestPushRefusesLyingHead: a registry that answers HEAD of a blob with 200
// and a Content-Length that is not the blob's does not get the blob
// skipped: the push fails naming the blob.
func TestPushRefusesLyingHead(t *testing.T) {
	dir, m := testLayout(t)
	raw, err := os.ReadFile(blobPath(dir, m))
	if err != nil {
		t.Fatal(err)
	}
	var mf v1.Manifest
	if err := json.Unmarshal(raw, &mf); err != nil {
		t.Fatal(err)
	}
	layer := mf.Layers[0]
	h := startHostile(t)
	h.on(http.MethodHead, "/blobs/"+layer.Digest.String(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "7")
		w.Header().Set("Docker-Content-Digest", layer.Digest.String())
		w.WriteHeader(http.StatusOK)
	})
	_, err = Push(context.Background(), dir, h.host, quick())
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), layer.Digest.String()) || !strings.Contains(err.Error(), "as 7 bytes") {
		t.Fatalf("push to a registry that lies in HEAD: %v", err)
	}
}

// TestPushHoldsIndexToVerified: given the verified index.json's sha256,
// push (directory and stream) refuses a layout whose index.json changed
// since, before anything is sent; the rest of the layout is named by
// digests from index.json.
func TestPushHoldsIndexToVerified(t *testing.T) {
	dir, _ := testLayout(t)
	p := filepath.Join(dir, "index.json")
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	verified := sha256Hex(orig)
	for _, tc := range []struct {
		name string
		push func(registry string, o Options) error
	}{
		{"directory", func(r string, o Options) error { _, err := Push(context.Background(), dir, r, o); return err }},
		{"stream", func(r string, o Options) error {
			_, err := PushStream(context.Background(), dirWalk(dir), r, o)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(p, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			o := quick()
			o.IndexSHA256 = verified
			if err := tc.push(startGGCR(t, nil), o); err != nil {
				t.Fatalf("push of the verified layout: %v", err)
			}
			if err := os.WriteFile(p, append(append([]byte(nil), orig...), ' '), 0o644); err != nil {
				t.Fatal(err)
			}
			var sent atomic.Int32
			r := startGGCR(t, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					if req.Method != http.MethodGet && req.Method != http.MethodHead {
						sent.Add(1)
					}
					h.ServeHTTP(w, req)
				})
			})
			err := tc.push(r, o)
			if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "changed since it was verified") {
				t.Fatalf("push of a layout whose index.json changed: %v", err)
			}
			if sent.Load() != 0 {
				t.Errorf("%d writes reached the registry", sent.Load())
			}
		})
	}
}
