package repo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// BenchmarkRescanCached scans a generated corpus three ways: without a
// cache, with an empty cache (reading every file and storing its entry)
// and with a warm cache (reading only the entries), and reports the
// ratios: plain/warm is what a rebuild with unchanged RPMs saves,
// cold/plain what the first run pays to fill the cache. Each figure is the best of three runs.
//
//	go test -run '^$' -bench RescanCached -benchtime 1x ./repo
func BenchmarkRescanCached(b *testing.B) {
	corpora := []struct {
		name                          string
		small, files, large, largeMiB int
	}{
		{"mixed", 300, 24, 5, 40},
		{"small", 2000, 12, 0, 0},
	}
	for _, c := range corpora {
		b.Run(c.name, func(b *testing.B) {
			paths := rpmfixture.BenchCorpus(b, filepath.Join(b.TempDir(), "rpms"), c.small, c.files, c.large, c.largeMiB)
			var total int64
			var cacheable int64
			for _, p := range paths {
				fi, err := os.Stat(p)
				if err != nil {
					b.Fatal(err)
				}
				total += fi.Size()
				if fi.Size() >= DefaultScanCacheMinSize {
					cacheable++
				}
			}
			ctx := context.Background()
			scan := func(sc *ScanCache) time.Duration {
				start := time.Now()
				if _, err := sc.Scan(ctx, paths, ScanOptions{}); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			open := func(dir string) *ScanCache {
				sc, err := OpenScanCache(dir)
				if err != nil {
					b.Fatal(err)
				}
				return sc
			}
			bestOf := func(f func() time.Duration) time.Duration {
				var best time.Duration
				for i := 0; i < 3; i++ {
					if d := f(); i == 0 || d < best {
						best = d
					}
				}
				return best
			}
			for b.Loop() {
				plain := bestOf(func() time.Duration { return scan(nil) })
				warmDir := b.TempDir()
				cold := bestOf(func() time.Duration {
					warmDir = b.TempDir()
					return scan(open(warmDir))
				})
				var hits int64
				warm := bestOf(func() time.Duration {
					sc := open(warmDir)
					d := scan(sc)
					hits = sc.Stats().Hits
					return d
				})
				if hits != cacheable {
					b.Fatalf("warm scan: %d hits for %d files of at least %d bytes", hits, cacheable, DefaultScanCacheMinSize)
				}
				b.ReportMetric(float64(total)/(1<<20), "MiB")
				b.ReportMetric(float64(len(paths)), "rpms")
				b.ReportMetric(float64(cacheable), "cached-rpms")
				b.ReportMetric(float64(plain.Milliseconds()), "plain-ms")
				b.ReportMetric(float64(cold.Milliseconds()), "cold-ms")
				b.ReportMetric(float64(warm.Milliseconds()), "warm-ms")
				b.ReportMetric(float64(cold)/float64(warm), "cold/warm")
				b.ReportMetric(float64(cold)/float64(plain), "cold/plain")
				b.ReportMetric(float64(plain)/float64(warm), "plain/warm")
			}
		})
	}
}
