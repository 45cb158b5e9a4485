package imagetest

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
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

// Skopeo runs skopeo with the policy flag the machine needs.
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
