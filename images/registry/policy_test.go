package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// quick are the deadlines of the tests against hostile registries.
func quick() images.Options {
	return images.Options{Options: registry.Options{AnswerTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, RequestTimeout: time.Second, ConnectTimeout: 300 * time.Millisecond, Retries: -1, Backoff: 10 * time.Millisecond}}
}

// TestHostileRegistry: lock (images.Lock), validate (images.Resolve) and build (images.Mirror)
// against a registry that lies about sizes, sends endless bodies, stays
// silent, drips, fails or redirects: each ends within its deadlines with a
// clear error, reading no more than the caps.
func TestHostileRegistry(t *testing.T) {
	type verb struct {
		name string
		run  func(ctx context.Context, spec images.Spec, o images.Options) error
	}
	verbs := []verb{
		{"lock", func(ctx context.Context, s images.Spec, o images.Options) error {
			_, err := images.Lock(ctx, []images.Spec{s}, o)
			return err
		}},
		{"validate", func(ctx context.Context, s images.Spec, o images.Options) error {
			_, err := images.Resolve(ctx, "", []images.Spec{s}, o)
			return err
		}},
		{"build", func(ctx context.Context, s images.Spec, o images.Options) error {
			_, err := images.Mirror(ctx, filepath.Join(t.TempDir(), "images"), []images.Spec{s}, o)
			return err
		}},
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h *imagetest.Hostile) images.Spec
		// verbs that must fail (the others read nothing the rule serves)
		fail    []string
		want    error
		network bool // IsNetwork: exit 3
	}{
		{"config claims 1 TiB", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			m, _ := imagetest.HostileImage(t, h)
			m.Config.Size = 1 << 40
			imagetest.PutManifest(t, h, "huge-config", m)
			h.On(http.MethodGet, "/blobs/"+m.Config.Digest.String(), h.Endless(0, 0, 64<<20))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:huge-config", Platforms: []string{"linux/amd64"}}
		}, []string{"lock", "validate", "build"}, layout.ErrTooLarge, false},
		{"manifest body endless", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			imagetest.HostileImage(t, h)
			h.On(http.MethodGet, "/manifests/", h.Endless(' ', 0, 128<<20))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, layout.ErrTooLarge, false},
		{"manifest claims 1 TiB", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			imagetest.HostileImage(t, h)
			h.On(http.MethodGet, "/manifests/", h.Endless(' ', 1<<40, 0))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, layout.ErrTooLarge, false},
		{"silence", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			h.On("", "/v2/", h.Silence)
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, registry.ErrNoAnswer, true},
		{"manifest drips a byte every 100ms", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			imagetest.HostileImage(t, h)
			h.On(http.MethodGet, "/manifests/", h.Drip(500, 100*time.Millisecond))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, registry.ErrNoAnswer, true},
		{"layer stalls", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			m, _ := imagetest.HostileImage(t, h)
			h.On(http.MethodGet, "/blobs/"+m.Layers[0].Digest.String(), h.Drip(int(m.Layers[0].Size), time.Hour))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"build"}, registry.ErrNoAnswer, true},
		{"indexes nested 12 deep", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			_, d := imagetest.HostileImage(t, h)
			raw, err := remote.Get(imagetest.Ref(t, h.Host+"/team/web@"+d))
			if err != nil {
				t.Fatal(err)
			}
			child := raw.Descriptor
			for i := range 12 {
				b, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{child}})
				tag := fmt.Sprintf("nest%d", i)
				if err := remote.Put(imagetest.Ref(t, h.Host+"/team/web:"+tag), imagetest.RawIndex(b)); err != nil {
					t.Fatal(err)
				}
				child = v1.Descriptor{MediaType: types.OCIImageIndex, Size: int64(len(b)), Digest: v1.Hash{Algorithm: "sha256", Hex: imagetest.SHA256Hex(b)}}
			}
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:nest11"}
		}, []string{"build"}, layout.ErrTooDeep, false},
		{"500s", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			h.On("", "/manifests/", imagetest.Status(http.StatusInternalServerError))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, nil, false},
		{"manifest redirected to another host", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			other := imagetest.StartGGCR(t, nil)
			img := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], nil, 1, true)
			imagetest.PushImage(t, other+"/team/web:1", img)
			h.On("", "/manifests/", imagetest.Redirect(other))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"lock", "validate", "build"}, registry.ErrRedirect, false},
		{"blob redirected to another host with other bytes", func(t *testing.T, h *imagetest.Hostile) images.Spec {
			m, _ := imagetest.HostileImage(t, h)
			evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write(make([]byte, m.Layers[0].Size))
			}))
			t.Cleanup(evil.Close)
			h.On(http.MethodGet, "/blobs/"+m.Layers[0].Digest.String(), imagetest.Redirect(strings.TrimPrefix(evil.URL, "http://")))
			return images.Spec{Name: "web", Ref: h.Host + "/team/web:1"}
		}, []string{"build"}, layout.ErrDigestMismatch, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := imagetest.StartHostile(t)
			spec := tc.setup(t, h)
			for _, v := range verbs {
				t.Run(v.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					start := time.Now()
					var err error
					grew := imagetest.HeapGrowth(func() { err = v.run(ctx, spec, quick()) })
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
					case registry.IsNetwork(err) != tc.network:
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
	h := imagetest.StartHostile(t)
	storage := imagetest.StartGGCR(t, nil)
	img := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], nil, 2, true)
	imagetest.PushImage(t, h.Host+"/team/web:1", img)
	imagetest.PushImage(t, storage+"/team/web:1", img)
	var redirected atomic.Int32
	h.On(http.MethodGet, "/blobs/", func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		imagetest.Redirect(storage)(w, r)
	})
	res, err := images.Mirror(context.Background(), filepath.Join(t.TempDir(), "images"), []images.Spec{{Name: "web", Ref: h.Host + "/team/web:1"}}, quick())
	if err != nil {
		t.Fatal(err)
	}
	if redirected.Load() < 3 || res[0].Digest != imagetest.DigestOf(t, img) {
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
				run  func(o images.Options) error
			}{
				{"lock", func(o images.Options) error {
					_, err := images.Lock(context.Background(), []images.Spec{{Name: "web", Ref: ref}}, o)
					return err
				}},
				{"build", func(o images.Options) error {
					_, err := images.Mirror(context.Background(), filepath.Join(t.TempDir(), "images"), []images.Spec{{Name: "web", Ref: ref}}, o)
					return err
				}},
				{"push", func(o images.Options) error {
					dir, _ := imagetest.OneImageLayout(t)
					_, err := registry.Push(context.Background(), dir, host+":5000", registry.PushOptions{Options: o.Options})
					return err
				}},
			} {
				t.Run(host+"/"+tc.name+"/"+v.name, func(t *testing.T) {
					nn := &imagetest.NoNetwork{}
					o := quick()
					o.Transport, o.Insecure = nn, tc.insecure
					err := v.run(o)
					if err == nil {
						t.Fatal("succeeded without a registry")
					}
					if got := slices.Contains(nn.Schemes, "http"); got != tc.wantHTTP {
						t.Errorf("plain HTTP requests made: %v, want %v (requests %q, error %v)", got, tc.wantHTTP, nn.Schemes, err)
					}
					if !tc.wantHTTP && strings.HasPrefix(host, "10.") && (!errors.Is(err, registry.ErrPlainHTTP) || !strings.Contains(err.Error(), "--insecure-registry")) {
						t.Errorf("error %v, want one naming --insecure-registry", err)
					}
				})
			}
		}
	}
}
