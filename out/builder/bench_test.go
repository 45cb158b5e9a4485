//go:build linux

// The benchmarks compare against GNU tar and read peak RSS from Linux rusage.

package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/testutil"
)

const benchFile = 64 << 20

// benchInputs makes (once, in the user cache dir) n deterministic 64 MiB
// stand-in RPMs and returns their paths.
func benchInputs(b *testing.B, n int) []string {
	base, err := os.UserCacheDir()
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(base, "bundle-bench", "rpms")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var paths []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("pkg%02d-1.0-1.x86_64.rpm", i))
		paths = append(paths, p)
		if fi, err := os.Stat(p); err == nil && fi.Size() == benchFile {
			continue
		}
		tmp := p + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			b.Fatal(err)
		}
		var seed [32]byte
		seed[0] = byte(i)
		if _, err := io.CopyN(f, rand.NewChaCha8(seed), benchFile); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			b.Fatal(err)
		}
	}
	return paths
}

type benchJob struct {
	Inputs    []string
	Out       string
	NoLinks   bool
	NoArchive bool
}

func benchPlan(inputs []string) *compiler.Plan {
	rp := &compiler.RepoPlan{Name: "bench", Version: "1", Dir: "serengeti/www/yum/repos/bench/1"}
	for _, in := range inputs {
		fi, _ := os.Stat(in)
		rp.Packages = append(rp.Packages, &compiler.Input{Src: in, Rel: "rpms/" + filepath.Base(in), Dest: rp.Dir + "/" + filepath.Base(in), Size: fi.Size()})
	}
	return &compiler.Plan{Name: "bench", Version: "1", Epoch: 1426032000, Repos: []*compiler.RepoPlan{rp},
		Files: []*compiler.File{{Path: "clusters/c/spec.json", Mode: 0o644, Data: []byte("{}\n")}}}
}

// TestBenchHelper is not a test: BenchmarkBuild1G runs Build in a child
// process through it to measure the child's peak RSS.
func TestBenchHelper(t *testing.T) {
	spec := os.Getenv("BUNDLE_OUT_BENCH")
	if spec == "" {
		return
	}
	var job benchJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		t.Fatal(err)
	}
	opts := Options{BuilderVersion: "bench", NoCache: true, NoHardLinks: job.NoLinks, NoArchive: job.NoArchive}
	if _, err := checkBuild(context.Background(), benchPlan(job.Inputs), job.Out, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runBuildChild builds in a child process and returns wall time and peak RSS.
func runBuildChild(b *testing.B, job benchJob) (time.Duration, int64) {
	spec, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchHelper$")
	cmd.Env = append(os.Environ(), "BUNDLE_OUT_BENCH="+string(spec))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build child: %v\n%s", err, out)
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, ru.Maxrss << 10
}

func runShell(b *testing.B, script string) time.Duration {
	start := time.Now()
	if out, err := exec.Command("bash", "-c", script).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
	return time.Since(start)
}

// BenchmarkBuild1G builds a bundle of 1 GiB of inputs (16 x 64 MiB, no hash
// cache) and compares with `cp -r` + `sha256sum` of the same inputs, and
// with that plus `tar | zstd` for the archive. Peak RSS is measured at
// 256 MiB and 1 GiB of inputs.
func BenchmarkBuild1G(b *testing.B) {
	inputs := benchInputs(b, 16)
	srcDir := filepath.Dir(inputs[0])
	for range b.N {
		work, err := os.MkdirTemp(filepath.Dir(srcDir), "run-")
		if err != nil {
			b.Fatal(err)
		}
		out := func(name string) string { return filepath.Join(work, name) }
		// Warm the page cache the same way for everyone.
		runShell(b, "cat "+srcDir+"/*.rpm > /dev/null")
		ref := runShell(b, fmt.Sprintf("cp -r %s %s && sha256sum %s/*.rpm > /dev/null", srcDir, out("ref"), out("ref")))
		refArchive := runShell(b, fmt.Sprintf("cp -r %s %s && sha256sum %s/*.rpm > /dev/null && tar -C %s --sort=name -cf - . | zstd -q -T0 -3 -o %s", srcDir, out("ref2"), out("ref2"), out("ref2"), out("ref2.tar.zst")))
		os.RemoveAll(out("ref"))
		os.RemoveAll(out("ref2"))
		os.Remove(out("ref2.tar.zst"))

		copyDir, copyRSS := runBuildChild(b, benchJob{Inputs: inputs, Out: out("copy"), NoLinks: true, NoArchive: true})
		os.RemoveAll(out("copy"))
		linkDir, linkRSS := runBuildChild(b, benchJob{Inputs: inputs, Out: out("link"), NoArchive: true})
		os.RemoveAll(out("link"))
		copyArch, copyArchRSS := runBuildChild(b, benchJob{Inputs: inputs, Out: out("copya"), NoLinks: true})
		os.RemoveAll(out("copya"))
		linkArch, linkArchRSS := runBuildChild(b, benchJob{Inputs: inputs, Out: out("linka")})
		os.RemoveAll(out("linka"))
		_, small := runBuildChild(b, benchJob{Inputs: inputs[:4], Out: out("small"), NoLinks: true})
		os.RemoveAll(work)

		r := func(d, ref time.Duration) float64 { return d.Seconds() / ref.Seconds() }
		mb := func(n int64) float64 { return float64(n) / (1 << 20) }
		b.ReportMetric(r(copyDir, ref), "copy/ref")
		b.ReportMetric(r(linkDir, ref), "link/ref")
		b.ReportMetric(r(copyArch, refArchive), "copy+zst/ref+zst")
		b.ReportMetric(r(linkArch, refArchive), "link+zst/ref+zst")
		b.ReportMetric(mb(small), "RSS_MB_256M")
		b.ReportMetric(mb(copyArchRSS), "RSS_MB_1G")
		b.Logf("1 GiB of inputs: cp -r + sha256sum %v; + tar|zstd %v", ref.Round(time.Millisecond), refArchive.Round(time.Millisecond))
		b.Logf("build, no archive: copies %v (%.2fx, RSS %.0f MB), hard links %v (%.2fx, RSS %.0f MB)",
			copyDir.Round(time.Millisecond), r(copyDir, ref), mb(copyRSS), linkDir.Round(time.Millisecond), r(linkDir, ref), mb(linkRSS))
		b.Logf("build + tar.zst: copies %v (%.2fx of cp+sha256sum+tar|zstd, RSS %.0f MB), hard links %v (%.2fx, RSS %.0f MB)",
			copyArch.Round(time.Millisecond), r(copyArch, refArchive), mb(copyArchRSS), linkArch.Round(time.Millisecond), r(linkArch, refArchive), mb(linkArchRSS))
		b.Logf("peak RSS with archive: 256 MiB inputs %.0f MB, 1 GiB inputs %.0f MB", mb(small), mb(copyArchRSS))
	}
}

// runChildCPU is runBuildChild also returning the child's user+sys CPU
// time (the steadier figure on a shared machine).
func runChildCPU(b *testing.B, job benchJob) (wall, cpu time.Duration, rss int64) {
	spec, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchHelper$")
	cmd.Env = append(os.Environ(), "BUNDLE_OUT_BENCH="+string(spec))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build child: %v\n%s", err, out)
	}
	wall = time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), ru.Maxrss << 10
}

// shellCPU runs script under bash and returns its wall time and the CPU
// time of bash and everything it waited for.
func shellCPU(b *testing.B, script string) (wall, cpu time.Duration) {
	cmd := exec.Command("bash", "-c", script)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
	wall = time.Since(start)
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// BenchmarkBuildPackingFloor compares `bundle build` (hard links, no hash
// cache, tar.zst) of 256 MiB of RPM-like (incompressible) inputs with just
// packing the same bytes: `tar -cf - FILES | zstd -3 -T2 -o OUT && sync OUT`.
// Both read the same page-cache-warm inputs and write to the same file
// system (beside the inputs), and both reach the disk: the build fsyncs its
// staging directory (syncfs) and its archive, the reference fsyncs its
// archive (coreutils sync FILE); both are timed to the end of the flush.
// Five runs, alternated; reports the best and the median of each, wall and
// CPU (user+system of the child processes; steadier on a shared machine).
func BenchmarkBuildPackingFloor(b *testing.B) {
	inputs := benchInputs(b, 4)
	srcDir := filepath.Dir(inputs[0])
	var args []string
	for _, in := range inputs {
		args = append(args, filepath.Base(in))
	}
	const runs = 5
	for range b.N {
		work, err := os.MkdirTemp(filepath.Dir(srcDir), "floor-")
		if err != nil {
			b.Fatal(err)
		}
		runShell(b, "cat "+strings.Join(inputs, " ")+" > /dev/null")
		refOut := filepath.Join(work, "ref.tar.zst")
		ref := fmt.Sprintf("tar -C %s -cf - %s | zstd -q -3 -T2 -o %s && sync %s", srcDir, strings.Join(args, " "), refOut, refOut)
		var refW, refC, ourW, ourC []time.Duration
		var rss int64
		for range runs {
			os.Remove(refOut)
			w, c := shellCPU(b, ref)
			refW, refC = append(refW, w), append(refC, c)
			os.RemoveAll(filepath.Join(work, "out"))
			w, c, r := runChildCPU(b, benchJob{Inputs: inputs, Out: filepath.Join(work, "out")})
			ourW, ourC = append(ourW, w), append(ourC, c)
			rss = max(rss, r)
		}
		os.RemoveAll(work)
		ours, refs, ratios := testutil.FloorRuns{OurWall: ourW, OurCPU: ourC, RefWall: refW, RefCPU: refC}.Report(b)
		b.ReportMetric(float64(rss)/(1<<20), "MiB-rss")
		b.Logf(`256 MiB of incompressible inputs, %d runs alternated (best / median):
  bundle build (hard links, no cache, tar.zst, fsynced): %s, peak RSS %.0f MiB
  %s:
    %s
  build / reference: %s
  (go test ./out/builder -run '^$' -bench BuildPackingFloor -benchtime 1x -count 3)`,
			runs, ours, float64(rss)/(1<<20), ref, refs, ratios)
	}
}
