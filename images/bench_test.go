package images

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images/internal/imagetest"
)

// BenchmarkMirrorSharedLayers mirrors N images that share their base
// layers from an in-process registry that counts the bytes it serves, and
// compares with skopeo copying the same images one by one into one OCI
// layout. fetched/unique is the bytes served divided by the sum of the
// unique blob sizes (1.0 = each blob fetched once).
func BenchmarkMirrorSharedLayers(b *testing.B) {
	const n, baseLayers = 8, 3
	counter := &imagetest.CountingHandler{}
	host := imagetest.StartGGCR(b, func(h http.Handler) http.Handler { counter.H = h; return counter })
	specs := toSpecs(imagetest.PushSharedImages(b, host, n, baseLayers))
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
		unique += imagetest.BlobBytes(b, dir)

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
