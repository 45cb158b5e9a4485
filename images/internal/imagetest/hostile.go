package imagetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

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
