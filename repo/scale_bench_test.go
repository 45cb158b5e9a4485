package repo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/rpmcorpus"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// benchScale compares `bundle repo index` with `createrepo_c --workers 2
// --no-database` on n distro-like small RPMs (internal/rpmcorpus): wall
// time, CPU time and peak RSS of a full index, then of --update after one
// package was replaced. Each tool runs as its own process under
// /usr/bin/time, the two alternated; min, median and max of the runs and
// the load average are logged with the commands.
func benchScale(b *testing.B, n int) {
	rpmfixture.NeedTools(b, "createrepo_c", "/usr/bin/time")
	bin := buildBundle(b)
	root := b.TempDir()
	rpms := keptCorpus(b, root, fmt.Sprintf("distro-small-%d", n), func(dir string) []string {
		return genCorpus(b, dir, rpmcorpus.Options{Packages: n, Seed: 1})
	})
	ours, cr := filepath.Join(root, "ours"), filepath.Join(root, "cr")
	linkAll(b, ours, rpms)
	linkAll(b, cr, rpms)
	measure(b, "cat", rpms[:min(len(rpms), 4000)]...) // warm the page cache
	ourCmd := []string{bin, "repo", "index", "--workers", "2", "--epoch", "1426032000", "-q", ours}
	crCmd := []string{"createrepo_c", "--workers", "2", "--no-database", "-q", cr}
	runs := 5
	if n > 10000 {
		runs = 3
	}
	b.ResetTimer()
	full := alternate(b, runs, ourCmd, crCmd, func() {
		os.RemoveAll(filepath.Join(ours, "repodata"))
		os.RemoveAll(filepath.Join(cr, "repodata"))
	})
	// --update with one package changed: the middle one is replaced by
	// another build, then by the original again, in both trees.
	changed := genCorpus(b, filepath.Join(root, "changed"), rpmcorpus.Options{Packages: 1, Seed: 2})[0]
	mid := filepath.Base(rpms[len(rpms)/2])
	crUCmd := append([]string{crCmd[0], "--update"}, crCmd[1:]...)
	ourUCmd := append([]string{bin, "repo", "index", "--update"}, ourCmd[3:]...)
	i := 0
	upd := alternate(b, runs, ourUCmd, crUCmd, func() {
		src := changed
		if i%2 == 1 {
			src = rpms[len(rpms)/2]
		}
		i++
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
	})
	b.StopTimer()
	if err := VerifyRepodata(b.Context(), ours); err != nil {
		b.Fatal(err)
	}
	full.report(b, "")
	upd.report(b, "-update")
	// Go truncates a benchmark's log after ten lines: keep it short.
	b.Logf("%d distro-like small RPMs (%s), %d runs alternated, min / median / max:\n%s\n"+
		"  --update, one of %d replaced:\n%s",
		n, corpusSize(rpms), runs, full, n, upd)
}

// genCorpus generates an rpmcorpus corpus into dir.
func genCorpus(b *testing.B, dir string, o rpmcorpus.Options) []string {
	b.Helper()
	rpms, err := rpmcorpus.Generate(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	return rpms
}

func corpusSize(rpms []string) string {
	var total int64
	for _, f := range rpms {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	return fmt.Sprintf("%.1f MiB", float64(total)/(1<<20))
}

// comparison holds alternated runs of our command and the reference's,
// and the load average before and after.
type comparison struct {
	ourCmd, refCmd []string
	ours, refs     []procRun
	load0, load1   string
}

// alternate runs prep, the reference, then ours, runs times.
func alternate(b *testing.B, runs int, ourCmd, refCmd []string, prep func()) *comparison {
	c := &comparison{ourCmd: ourCmd, refCmd: refCmd, load0: loadAvg()}
	for range runs {
		prep()
		c.refs = append(c.refs, measureCPU(b, refCmd...))
		c.ours = append(c.ours, measureCPU(b, ourCmd...))
	}
	c.load1 = loadAvg()
	return c
}

// loadAvg is /proc/loadavg's first three fields ("?" elsewhere).
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// stats returns min, median and max of the runs' field.
func stats(rs []procRun, field func(procRun) float64) (lo, med, hi float64) {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = field(r)
	}
	sort.Float64s(v)
	return v[0], v[len(v)/2], v[len(v)-1]
}

// ratios returns min, median and max of the per-run ratios ours/ref of
// the field (run i of ours against run i of the reference, which ran
// just before it).
func (c *comparison) ratios(field func(procRun) float64) (lo, med, hi float64) {
	rs := make([]procRun, len(c.ours))
	for i := range rs {
		rs[i].wall = field(c.ours[i]) / field(c.refs[i])
	}
	return stats(rs, func(r procRun) float64 { return r.wall })
}

func wallOf(r procRun) float64 { return r.wall }
func cpuOf(r procRun) float64  { return r.cpu }
func rssOf(r procRun) float64  { return r.rss }

// report reports the median ratios (median of our runs over the median of
// the reference's) and the peak RSS as metrics.
func (c *comparison) report(b *testing.B, suffix string) {
	_, ow, _ := stats(c.ours, wallOf)
	_, rw, _ := stats(c.refs, wallOf)
	_, oc, _ := stats(c.ours, cpuOf)
	_, rc, _ := stats(c.refs, cpuOf)
	_, _, orss := stats(c.ours, rssOf)
	_, _, rrss := stats(c.refs, rssOf)
	b.ReportMetric(ow/rw, "x-createrepo_c"+suffix)
	b.ReportMetric(oc/rc, "x-createrepo_c-cpu"+suffix)
	b.ReportMetric(orss, "MiB-rss"+suffix)
	b.ReportMetric(rrss, "MiB-rss-createrepo_c"+suffix)
}

func (c *comparison) String() string {
	f := func(rs []procRun, field func(procRun) float64, unit string) string {
		lo, med, hi := stats(rs, field)
		return fmt.Sprintf("%.3f / %.3f / %.3f%s", lo, med, hi, unit)
	}
	side := func(cmd []string, rs []procRun) string {
		return fmt.Sprintf("  %s: wall %s, CPU %s, RSS %s", strings.Join(cmd, " "), f(rs, wallOf, " s"), f(rs, cpuOf, " s"), f(rs, rssOf, " MiB"))
	}
	_, ow, _ := stats(c.ours, wallOf)
	_, rw, _ := stats(c.refs, wallOf)
	_, oc, _ := stats(c.ours, cpuOf)
	_, rc, _ := stats(c.refs, cpuOf)
	wl, wm, wh := c.ratios(wallOf)
	cl, cm, ch := c.ratios(cpuOf)
	return fmt.Sprintf("%s\n%s\n  ratio of medians: wall %.2fx, CPU %.2fx; per run: wall %.2f / %.2f / %.2fx, CPU %.2f / %.2f / %.2fx; load %s -> %s",
		side(c.ourCmd, c.ours), side(c.refCmd, c.refs), ow/rw, oc/rc, wl, wm, wh, cl, cm, ch, c.load0, c.load1)
}

// procRun is one measured process: wall and CPU seconds, peak RSS in MiB.
type procRun struct{ wall, cpu, rss float64 }

func (r procRun) String() string {
	return fmt.Sprintf("%.3f s wall, %.3f s CPU, %.1f MiB peak RSS", r.wall, r.cpu, r.rss)
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

// BenchmarkIndexInProcess runs Index in this process on the kept corpora
// (generated on first use, as for the benchmarks above), for profiling:
//
//	go test -run '^$' -bench 'IndexInProcess/small-4000' -cpuprofile cpu.out ./repo/
//	go tool pprof -top repo.test cpu.out
func BenchmarkIndexInProcess(b *testing.B) {
	// As `bundle repo index` runs (cmd/bundle/cli/repo.go).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(32 << 20))
	for _, c := range []struct {
		name string
		o    rpmcorpus.Options
	}{
		{"small-4000", rpmcorpus.Options{Packages: 4000, Seed: 1}},
		{"small-20000", rpmcorpus.Options{Packages: 20000, Seed: 1}},
		{"mixed-405", rpmcorpus.Options{Packages: 400, Large: 5, LargeMiB: 30, Mixed: true, Seed: 1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			root := b.TempDir()
			name := "distro-" + c.name
			rpms := keptCorpus(b, root, name, func(dir string) []string { return genCorpus(b, dir, c.o) })
			dir := filepath.Join(root, "repo")
			linkAll(b, dir, rpms)
			b.ResetTimer()
			for range b.N {
				os.RemoveAll(filepath.Join(dir, "repodata"))
				if _, err := Index(b.Context(), dir, IndexOptions{Workers: 2, Epoch: 1426032000}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
