package registry_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/registry"
)

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
	specs := toSpecs(imagetest.PushSharedImages(b, src, n, baseLayers))
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "images")
	if _, err := images.Mirror(ctx, dir, specs, images.Options{}); err != nil {
		b.Fatal(err)
	}
	unique := imagetest.BlobBytes(b, dir)
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
