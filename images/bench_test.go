package images

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushSharedImages pushes n images, bench/app0:1 to bench/app<n-1>:1, to
// the registry at host; all share baseLayers random 1 MiB base layers and
// each has one 2 KiB layer of its own. It returns their specs.
func pushSharedImages(b *testing.B, host string, n, baseLayers int) []Spec {
	b.Helper()
	var base []v1.Layer
	for range baseLayers {
		l, err := random.Layer(1<<20, types.OCILayer)
		if err != nil {
			b.Fatal(err)
		}
		base = append(base, l)
	}
	var specs []Spec
	for i := range n {
		img := imagetest.PlatformImage(b, imagetest.TestPlatforms[0], base, 1, true)
		r := fmt.Sprintf("%s/bench/app%d:1", host, i)
		imagetest.PushImage(b, r, img)
		specs = append(specs, Spec{Name: fmt.Sprintf("app%d", i), Ref: r})
	}
	return specs
}

// BenchmarkMirrorSharedLayers mirrors N images that share their base
// layers from an in-process registry that counts the bytes it serves, and
// compares with skopeo copying the same images one by one into one OCI
// layout. fetched/unique is the bytes served divided by the sum of the
// unique blob sizes (1.0 = each blob fetched once).
func BenchmarkMirrorSharedLayers(b *testing.B) {
	const n, baseLayers = 8, 3
	counter := &imagetest.CountingHandler{}
	host := imagetest.StartGGCR(b, func(h http.Handler) http.Handler { counter.H = h; return counter })
	specs := pushSharedImages(b, host, n, baseLayers)
	ctx := context.Background()

	var ours, ref time.Duration
	var oursBytes, refBytes, unique int64
	for range b.N {
		dir := filepath.Join(b.TempDir(), "images")
		counter.N.Store(0)
		start := time.Now()
		if _, err := Mirror(ctx, dir, specs, Options{}); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		oursBytes += counter.N.Load()
		unique += blobBytes(b, dir)

		sdir := filepath.Join(b.TempDir(), "skopeo")
		counter.N.Store(0)
		start = time.Now()
		for _, s := range specs {
			imagetest.Skopeo(b, "copy", "--src-tls-verify=false", "docker://"+s.Ref, "oci:"+sdir+":"+s.Name)
		}
		ref += time.Since(start)
		refBytes += counter.N.Load()
	}
	b.ReportMetric(float64(oursBytes)/float64(unique), "fetched/unique")
	b.ReportMetric(float64(refBytes)/float64(unique), "skopeo-fetched/unique")
	b.ReportMetric(ours.Seconds()/ref.Seconds(), "time/skopeo")
	b.ReportMetric(float64(unique)/float64(b.N)/(1<<20), "unique-MiB")
}

// blobBytes sums the sizes of a layout's blobs.
func blobBytes(b *testing.B, dir string) int64 {
	es, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		b.Fatal(err)
	}
	var sum int64
	for _, e := range es {
		info, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		sum += info.Size()
	}
	return sum
}

// uploadBytes counts the request body bytes of blob uploads a registry
// handler receives.
type uploadBytes struct {
	h http.Handler
	n atomic.Int64
}

func (u *uploadBytes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Body != nil {
		r.Body = &countedBody{ReadCloser: r.Body, n: &u.n}
	}
	u.h.ServeHTTP(w, r)
}

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// BenchmarkPushSharedLayers pushes a layout of N images in N repositories
// that share their base layers to a fresh in-process registry: from the
// directory (registry.Push), as a stream (registry.PushStream), and with skopeo copying each
// image from the layout as the reference. sent/unique is the blob bytes
// sent divided by the sum of the unique blob sizes (1.0 = each blob sent
// once; shared blobs are mounted into the other repositories).
func BenchmarkPushSharedLayers(b *testing.B) {
	const n, baseLayers = 8, 3
	src := imagetest.StartGGCR(b, nil)
	specs := pushSharedImages(b, src, n, baseLayers)
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "images")
	if _, err := Mirror(ctx, dir, specs, Options{}); err != nil {
		b.Fatal(err)
	}
	unique := blobBytes(b, dir)
	var tDir, tStream, tSkopeo time.Duration
	var bDir, bStream, bSkopeo int64
	fresh := func() (string, *uploadBytes) {
		u := &uploadBytes{}
		return imagetest.StartGGCR(b, func(h http.Handler) http.Handler { u.h = h; return u }), u
	}
	for range b.N {
		host, u := fresh()
		start := time.Now()
		if _, err := registry.Push(ctx, dir, host, registry.PushOptions{}); err != nil {
			b.Fatal(err)
		}
		tDir += time.Since(start)
		bDir += u.n.Load()

		host, u = fresh()
		start = time.Now()
		if _, err := registry.PushStream(ctx, imagetest.DirWalk(dir), host, registry.PushOptions{}); err != nil {
			b.Fatal(err)
		}
		tStream += time.Since(start)
		bStream += u.n.Load()

		host, u = fresh()
		start = time.Now()
		for _, s := range specs {
			imagetest.Skopeo(b, "copy", "--dest-tls-verify=false", "oci:"+dir+":"+s.Name, "docker://"+host+"/bench/"+s.Name+":1")
		}
		tSkopeo += time.Since(start)
		bSkopeo += u.n.Load()
	}
	N := float64(b.N)
	b.ReportMetric(float64(bDir)/N/float64(unique), "dir-sent/unique")
	b.ReportMetric(float64(bStream)/N/float64(unique), "stream-sent/unique")
	b.ReportMetric(float64(bSkopeo)/N/float64(unique), "skopeo-sent/unique")
	b.ReportMetric(tDir.Seconds()/tSkopeo.Seconds(), "dir-time/skopeo")
	b.ReportMetric(tStream.Seconds()/tSkopeo.Seconds(), "stream-time/skopeo")
	b.ReportMetric(float64(unique)/(1<<20), "unique-MiB")
}
