package testutil

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// FloorRuns holds the wall and CPU times of alternated runs of a build and
// of the reference it is measured against (the packing-floor benchmarks).
type FloorRuns struct {
	OurWall, OurCPU, RefWall, RefCPU []time.Duration
}

// Report sorts the runs and reports the build/reference ratios of the best
// and the median runs, wall and CPU, as the metrics x-tar|zstd,
// x-tar|zstd-median, x-tar|zstd-cpu and x-tar|zstd-cpu-median. It returns
// the build's and the reference's times and the ratios, each as
// "wall BEST / MEDIAN, CPU BEST / MEDIAN", for the benchmark's log.
func (r FloorRuns) Report(b *testing.B) (ours, ref, ratios string) {
	for _, d := range [][]time.Duration{r.OurWall, r.OurCPU, r.RefWall, r.RefCPU} {
		if len(d) == 0 {
			b.Fatal("FloorRuns.Report: no runs")
		}
		slices.Sort(d)
	}
	best := func(d []time.Duration) time.Duration { return d[0] }
	med := func(d []time.Duration) time.Duration { return d[len(d)/2] }
	ratio := func(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	b.ReportMetric(ratio(best(r.OurWall), best(r.RefWall)), "x-tar|zstd")
	b.ReportMetric(ratio(med(r.OurWall), med(r.RefWall)), "x-tar|zstd-median")
	b.ReportMetric(ratio(best(r.OurCPU), best(r.RefCPU)), "x-tar|zstd-cpu")
	b.ReportMetric(ratio(med(r.OurCPU), med(r.RefCPU)), "x-tar|zstd-cpu-median")
	times := func(w, c []time.Duration) string {
		return fmt.Sprintf("wall %v / %v, CPU %v / %v", ms(best(w)), ms(med(w)), ms(best(c)), ms(med(c)))
	}
	ratios = fmt.Sprintf("wall %.2fx / %.2fx, CPU %.2fx / %.2fx",
		ratio(best(r.OurWall), best(r.RefWall)), ratio(med(r.OurWall), med(r.RefWall)),
		ratio(best(r.OurCPU), best(r.RefCPU)), ratio(med(r.OurCPU), med(r.RefCPU)))
	return times(r.OurWall, r.OurCPU), times(r.RefWall, r.RefCPU), ratios
}
