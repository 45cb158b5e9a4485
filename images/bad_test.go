package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/demoinputs"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		ref     string
		kind    SourceKind
		path    string
		tag     string
		repo    string
		wantErr string
	}{
		{ref: "nginx:1.7.9", kind: Registry, repo: "library/nginx"},
		{ref: "127.0.0.1:5000/x/y@sha256:" + strings.Repeat("a", 64), kind: Registry, repo: "x/y"},
		{ref: "oci-layout:/srv/layout", kind: OCILayout, path: "/srv/layout"},
		{ref: "oci-layout:/srv/layout:web", kind: OCILayout, path: "/srv/layout", tag: "web"},
		{ref: "docker-archive:/srv/nginx.tar", kind: DockerArchive, path: "/srv/nginx.tar"},
		{ref: "", wantErr: "empty image reference"},
		{ref: " nginx", wantErr: "spaces"},
		{ref: "oci-layout:", wantErr: "missing directory path"},
		{ref: "oci-layout:rel/dir", wantErr: "not absolute"},
		{ref: "oci-layout:/srv/layout:", wantErr: "empty tag"},
		{ref: "docker-archive:nginx.tar", wantErr: "not absolute"},
		{ref: "docker://nginx:1.7.9", wantErr: `unknown transport "docker"`},
		{ref: "NGINX:1.7.9", wantErr: "parsing image reference"},
		{ref: "nginx:bad tag", wantErr: "parsing image reference"},
		{ref: "nginx@sha256:abc", wantErr: "parsing image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			src, err := ParseSource(tt.ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Kind != tt.kind || src.Path != tt.path || src.Tag != tt.tag {
				t.Errorf("got %+v", src)
			}
			if tt.repo != "" {
				if got := Repository(Spec{Name: "n", Ref: tt.ref}); got != tt.repo {
					t.Errorf("Repository = %q, want %q", got, tt.repo)
				}
			}
			if back, err := ParseSource(src.String()); err != nil || back.String() != src.String() {
				t.Errorf("round trip %q: %v", src.String(), err)
			}
		})
	}
	if got := Repository(Spec{Name: "My App", Ref: "docker-archive:/x.tar"}); got != "my-app" {
		t.Errorf("Repository of a local source = %q", got)
	}
	if got := registry.SiteRef("reg:5000", "library/nginx", "sha256:ab"); got != "reg:5000/library/nginx@sha256:ab" {
		t.Errorf("SiteRef = %q", got)
	}
}

// tamper serves blob digest with one byte flipped.
func tamper(digest string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+digest) {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if len(body) > 0 {
				body[len(body)/2] ^= 0xff
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}
}

func TestMirrorBadInputs(t *testing.T) {
	layer, err := random.Layer(8192, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	host := imagetest.StartGGCR(t, tamper(ld.String()))
	img := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], []v1.Layer{layer}, 1, false)
	imagetest.PushImage(t, host+"/tampered:1", img)
	good := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], nil, 1, false)
	imagetest.PushImage(t, host+"/good:1", good)
	goodD := imagetest.DigestOf(t, good)
	imagetest.PushMultiIndex(t, host+"/multi:1", nil)

	down := httptest.NewServer(http.NotFoundHandler())
	downHost := strings.TrimPrefix(down.URL, "http://")
	down.Close()

	src := t.TempDir()
	archive := filepath.Join(src, "nginx.tar")
	if err := demoinputs.NginxImage(archive, imagetest.Epoch); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(src, "truncated.tar")
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	noise := filepath.Join(src, "noise.tar")
	if err := os.WriteFile(noise, bytes.Repeat([]byte{0x5a, 0x13, 0xc7}, 4000), 0o644); err != nil {
		t.Fatal(err)
	}
	noManifest := filepath.Join(src, "nomanifest.tar")
	{
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 5})
		tw.Write([]byte("hello"))
		tw.Close()
		if err := os.WriteFile(noManifest, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An OCI layout of the nginx image, then two damaged copies.
	nginxImg, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	goodLayout := filepath.Join(src, "layout")
	lp, err := ggcrlayout.Write(goodLayout, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(nginxImg, ggcrlayout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "web"})); err != nil {
		t.Fatal(err)
	}
	badIndex := filepath.Join(src, "badindex")
	if err := os.CopyFS(badIndex, os.DirFS(goodLayout)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badIndex, "index.json"), []byte("{ not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	badBlob := filepath.Join(src, "badblob")
	if err := os.CopyFS(badBlob, os.DirFS(goodLayout)); err != nil {
		t.Fatal(err)
	}
	layers, err := nginxImg.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v", err)
	}
	ld0, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(badBlob, "blobs", "sha256", ld0.Hex)
	bb, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	bb[len(bb)/2] ^= 0xff
	if err := os.WriteFile(blob, bb, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		specs   []Spec
		opts    Options
		want    []string
		wantIs  error
		pristen bool
	}{
		{name: "unknown image", specs: []Spec{{Name: "x", Ref: host + "/nope:1"}}, want: []string{`image "x"`, "nope:1", "NAME_UNKNOWN"}},
		{name: "unknown tag", specs: []Spec{{Name: "x", Ref: host + "/good:2"}}, want: []string{`image "x"`, "good:2", "MANIFEST_UNKNOWN"}},
		{name: "registry down", specs: []Spec{{Name: "x", Ref: downHost + "/app:1"}}, want: []string{`image "x"`, "connection refused"}},
		{name: "tampered blob", specs: []Spec{{Name: "good", Ref: host + "/good:1"}, {Name: "t", Ref: host + "/tampered:1"}}, want: []string{`image "t"`, ld.String()}, wantIs: layout.ErrDigestMismatch},
		{name: "truncated archive", specs: []Spec{{Name: "n", Ref: "docker-archive:" + truncated}}, want: []string{truncated, "not a complete tar file", "truncated"}},
		{name: "missing archive", specs: []Spec{{Name: "n", Ref: "docker-archive:" + filepath.Join(src, "none.tar")}}, want: []string{"none.tar", "no such file"}},
		{name: "archive of noise", specs: []Spec{{Name: "n", Ref: "docker-archive:" + noise}}, want: []string{noise}},
		{name: "archive without manifest.json", specs: []Spec{{Name: "n", Ref: "docker-archive:" + noManifest}}, want: []string{noManifest, "manifest.json"}},
		{name: "layout with a garbage index.json", specs: []Spec{{Name: "n", Ref: "oci-layout:" + badIndex + ":web"}}, want: []string{badIndex, "index.json"}},
		{name: "layout with a corrupt blob", specs: []Spec{{Name: "n", Ref: "oci-layout:" + badBlob + ":web"}}, want: []string{`image "n"`, ld0.Hex}, wantIs: layout.ErrDigestMismatch},
		{name: "layout without tag", specs: []Spec{{Name: "n", Ref: "oci-layout:" + src + ":web"}}, want: []string{src, "oci-layout"}},
		{name: "platform not in index", specs: []Spec{{Name: "m", Ref: host + "/multi:1", Platforms: []string{"linux/ppc64le"}}}, want: []string{"linux/ppc64le", "not in the index", "linux/arm64/v8"}},
		{name: "platform of single image", specs: []Spec{{Name: "g", Ref: host + "/good:1", Platforms: []string{"linux/arm64"}}}, want: []string{"linux/arm64", "single-platform image for linux/amd64"}},
		{name: "bad platform", specs: []Spec{{Name: "g", Ref: host + "/good:1", Platforms: []string{"amd64"}}}, want: []string{`invalid platform "amd64"`}},
		{name: "lock mismatch", specs: []Spec{{Name: "g", Ref: host + "/good:1", Digest: other}}, want: []string{goodD, other, "lock"}, wantIs: ErrLockMismatch},
		{name: "bad pinned digest", specs: []Spec{{Name: "g", Ref: host + "/good:1", Digest: "sha256:xyz"}}, want: []string{"pinned digest"}},
		{name: "offline registry", specs: []Spec{{Name: "g", Ref: host + "/good:1", Digest: goodD}}, opts: Options{Offline: true}, want: []string{"network is off"}},
		{name: "duplicate name", specs: []Spec{{Name: "g", Ref: host + "/good:1"}, {Name: "g", Ref: host + "/good:1"}}, want: []string{"listed twice"}},
		{name: "malformed ref", specs: []Spec{{Name: "g", Ref: "docker://nginx"}}, want: []string{"unknown transport"}},
		{name: "bad media type mode", specs: []Spec{{Name: "g", Ref: host + "/good:1"}}, opts: Options{MediaTypes: "docker"}, want: []string{"media type mode"}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "images")
			tt.opts.Backoff = time.Millisecond
			_, err := Mirror(ctx, dir, tt.specs, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			imagetest.DirEmpty(t, parent)
		})
	}

	// A failed mirror leaves the previous layout as it was.
	parent := t.TempDir()
	dir := filepath.Join(parent, "images")
	if _, err := Mirror(ctx, dir, []Spec{{Name: "good", Ref: host + "/good:1"}}, Options{}); err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	if _, err := Mirror(ctx, dir, []Spec{{Name: "good", Ref: host + "/good:1"}, {Name: "t", Ref: host + "/tampered:1"}}, Options{}); err == nil {
		t.Fatal("tampered mirror succeeded")
	}
	after := tree(t, dir)
	if len(after) != len(before) || !bytes.Equal(after["index.json"], before["index.json"]) {
		t.Error("failed mirror changed the previous layout")
	}
	dirHasOnly(t, parent, "images")

	// With UpdateLock the new digest is accepted.
	res, err := Mirror(ctx, dir, []Spec{{Name: "g", Ref: host + "/good:1", Digest: other}}, Options{UpdateLock: true})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].SourceDigest != goodD {
		t.Errorf("source digest %s, want %s", res[0].SourceDigest, goodD)
	}
}

// cutOnce breaks the first download of blob digest half way through.
func cutOnce(digest string, cuts *atomic.Int32, times int32) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+digest) || cuts.Load() >= times {
				h.ServeHTTP(w, r)
				return
			}
			cuts.Add(1)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body[:len(body)/2])
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		})
	}
}

func TestMirrorRetriesBrokenTransfer(t *testing.T) {
	layer, err := random.Layer(64<<10, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	ld, _ := layer.Digest()
	for _, tt := range []struct {
		name    string
		retries int
		cuts    int32
		wantErr bool
	}{
		{"recovers", 2, 1, false},
		{"gives up", -1, 1, true},
		{"too many failures", 1, 5, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cuts atomic.Int32
			host := imagetest.StartGGCR(t, cutOnce(ld.String(), &cuts, tt.cuts))
			img := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], []v1.Layer{layer}, 0, true)
			imagetest.PushImage(t, host+"/app:1", img)
			parent := t.TempDir()
			dir := filepath.Join(parent, "images")
			res, err := Mirror(context.Background(), dir, []Spec{{Name: "app", Ref: host + "/app:1"}}, Options{Options: registry.Options{Retries: tt.retries, Backoff: time.Millisecond}})
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.Contains(err.Error(), ld.String()) {
					t.Errorf("error %q does not name the layer", err)
				}
				imagetest.DirEmpty(t, parent)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cuts.Load() != 1 || res[0].Digest != imagetest.DigestOf(t, img) {
				t.Errorf("cuts %d, digest %s", cuts.Load(), res[0].Digest)
			}
			if err := layout.Verify(context.Background(), dir); err != nil {
				t.Fatal(err)
			}
		})
	}
}
