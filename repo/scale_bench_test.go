package repo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// benchScale compares `bundle repo index` with `createrepo_c --workers 2
// --no-database` on n small RPMs: wall time and peak RSS of a full index,
// then of --update after one package was replaced. Each tool runs as its
// own process under /usr/bin/time, alternated, best of runs. The commands
// are logged.
func benchScale(b *testing.B, n int) {
	needTools(b, "createrepo_c", "/usr/bin/time")
	bin := buildBundle(b)
	root := b.TempDir()
	rpms := keptCorpus(b, root, fmt.Sprintf("small-%d", n), func(dir string) []string { return benchCorpus(b, dir, n, 12, 0, 0) })
	ours, cr := filepath.Join(root, "ours"), filepath.Join(root, "cr")
	linkAll(b, ours, rpms)
	linkAll(b, cr, rpms)
	measure(b, "cat", rpms[:min(len(rpms), 4000)]...) // warm the page cache
	ourCmd := []string{bin, "repo", "index", "--workers", "2", "--epoch", "1426032000", "-q", ours}
	crCmd := []string{"createrepo_c", "--workers", "2", "--no-database", "-q", cr}
	runs := 3
	if n > 10000 {
		runs = 2
	}
	var ours1, cr1, oursU, crU procRun
	b.ResetTimer()
	for i := 0; i < runs; i++ {
		os.RemoveAll(filepath.Join(cr, "repodata"))
		cr1 = cr1.best(measureCPU(b, crCmd...))
		os.RemoveAll(filepath.Join(ours, "repodata"))
		ours1 = ours1.best(measureCPU(b, ourCmd...))
	}
	// --update with one package changed: the middle one is replaced by
	// another build (more files), then by the original again, in both
	// trees.
	changed := benchCorpus(b, filepath.Join(root, "changed"), 1, 13, 0, 0)[0]
	mid := filepath.Base(rpms[len(rpms)/2])
	crUCmd := append([]string{crCmd[0], "--update"}, crCmd[1:]...)
	ourUCmd := append([]string{bin, "repo", "index", "--update"}, ourCmd[3:]...)
	for i := 0; i < runs; i++ {
		src := changed
		if i%2 == 1 {
			src = rpms[len(rpms)/2]
		}
		data, err := os.ReadFile(src)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []string{ours, cr} {
			os.Remove(filepath.Join(d, mid))
			if err := os.WriteFile(filepath.Join(d, mid), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		crU = crU.best(measureCPU(b, crUCmd...))
		oursU = oursU.best(measureCPU(b, ourUCmd...))
	}
	b.StopTimer()
	if err := VerifyRepodata(b.Context(), ours); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ours1.wall/cr1.wall, "x-createrepo_c")
	b.ReportMetric(ours1.cpu/cr1.cpu, "x-createrepo_c-cpu")
	b.ReportMetric(oursU.wall/crU.wall, "x-createrepo_c-update")
	b.ReportMetric(ours1.rss, "MiB-rss")
	b.ReportMetric(cr1.rss, "MiB-rss-createrepo_c")
	b.ReportMetric(oursU.rss, "MiB-rss-update")
	b.ReportMetric(oursU.cpu/crU.cpu, "x-createrepo_c-update-cpu")
	// Go truncates a benchmark's log after ten lines: keep it short.
	b.Logf("%d small RPMs, best of %d, alternated; wall, user+sys CPU, peak RSS:\n"+
		"  %s: %s\n  %s: %s\n  ratio: wall %.2fx, CPU %.2fx, RSS %.2fx\n"+
		"  --update, one of %d replaced: bundle %s; createrepo_c %s; ratio: wall %.2fx, CPU %.2fx",
		n, runs, strings.Join(ourCmd, " "), ours1, strings.Join(crCmd, " "), cr1,
		ours1.wall/cr1.wall, ours1.cpu/cr1.cpu, ours1.rss/cr1.rss,
		n, oursU, crU, oursU.wall/crU.wall, oursU.cpu/crU.cpu)
}

// procRun is one measured process: wall and CPU seconds, peak RSS in MiB.
type procRun struct{ wall, cpu, rss float64 }

func (r procRun) String() string {
	return fmt.Sprintf("%.3f s wall, %.3f s CPU, %.1f MiB peak RSS", r.wall, r.cpu, r.rss)
}

// best keeps the faster of r and o by wall time (r unset counts as slowest).
func (r procRun) best(o procRun) procRun {
	if r.wall == 0 || o.wall < r.wall {
		return o
	}
	return r
}

// measureCPU runs a command under /usr/bin/time -f and returns its wall
// time, user+sys CPU time and peak RSS. On a shared machine the CPU time
// is the steadier figure.
func measureCPU(b *testing.B, cmdline ...string) procRun {
	b.Helper()
	out := filepath.Join(b.TempDir(), "time")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%e %U %S %M", "-o", out}, cmdline...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(cmdline, " "), err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	var wall, user, sys, kb float64
	if _, err := fmt.Sscan(string(data), &wall, &user, &sys, &kb); err != nil {
		b.Fatalf("/usr/bin/time output %q: %v", data, err)
	}
	return procRun{wall: wall, cpu: user + sys, rss: kb / 1024}
}

// BenchmarkIndexScale4000: peak RSS and time at 4,000 small RPMs.
func BenchmarkIndexScale4000(b *testing.B) { benchScale(b, 4000) }

// BenchmarkIndexScale20000: at 20,000 small RPMs, and --update with one
// of them changed.
func BenchmarkIndexScale20000(b *testing.B) { benchScale(b, 20000) }

// keptCorpus generates a corpus into root/name, or, when
// $BUNDLE_BENCH_CORPUS names a directory, reuses the one generated there
// by an earlier run (generating thousands of RPMs takes longer than
// indexing them). It returns the RPMs sorted.
func keptCorpus(b *testing.B, root, name string, gen func(dir string) []string) []string {
	b.Helper()
	if d := os.Getenv("BUNDLE_BENCH_CORPUS"); d != "" {
		root = d
	}
	dir := filepath.Join(root, name)
	done := dir + ".done"
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(dir)
		gen(dir)
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	rpms, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil || len(rpms) == 0 {
		b.Fatalf("corpus %s: no RPMs (%v)", dir, err)
	}
	sort.Strings(rpms)
	return rpms
}
