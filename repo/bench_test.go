package repo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/rpmpack"
)

// benchCorpus generates n small RPMs (files each) plus large RPMs of
// largeMB MiB of incompressible payload into dir.
func benchCorpus(b *testing.B, dir string, small, files, large, largeMB int) []string {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	var out []string
	mk := func(name string, nfiles int, payload []byte) {
		md := rpmpack.RPMMetaData{
			Name: name, Version: "1.0." + fmt.Sprint(len(out)%7), Release: "1.el7", Arch: "x86_64", OS: "linux",
			Summary: "benchmark package " + name, Description: strings.Repeat("A package for the benchmark. ", 4),
			Licence: "ASL 2.0", URL: "https://example.com/" + name, Compressor: "zstd:1", Epoch: rpmpack.NoEpoch,
			BuildTime: time.Unix(1426032000, 0),
		}
		for _, r := range []string{"bash >= 4.0", "/bin/sh", "libfoo.so.1()(64bit)", fmt.Sprintf("dep-%d", len(out)%50)} {
			md.Requires.Set(r)
		}
		md.Provides.Set(name + "-api = 1.0")
		r, err := rpmpack.NewRPM(md)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < nfiles; i++ {
			r.AddFile(rpmpack.RPMFile{Name: fmt.Sprintf("/usr/share/%s/d%d/file-%03d.txt", name, i%4, i), Body: []byte(fmt.Sprintf("file %d of %s\n", i, name)), Mode: 0o100644, Owner: "root", Group: "root", MTime: 1426032000})
		}
		r.AddFile(rpmpack.RPMFile{Name: "/usr/bin/" + name, Body: payload, Mode: 0o100755, Owner: "root", Group: "root", MTime: 1426032000})
		p := filepath.Join(dir, name+"-1.0-1.el7.x86_64.rpm")
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Write(f); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	for i := 0; i < small; i++ {
		mk(fmt.Sprintf("bench-small-%05d", i), files, []byte("#!/bin/sh\n"))
	}
	for i := 0; i < large; i++ {
		payload := make([]byte, largeMB<<20)
		for j := 0; j+8 <= len(payload); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				payload[j+k] = byte(v >> (8 * k))
			}
		}
		mk(fmt.Sprintf("bench-large-%02d", i), files, payload)
	}
	return out
}

// measure runs a command under /usr/bin/time and returns its wall time and
// peak RSS in MiB. (The rusage of a child started from this process would
// carry this process's own high-water mark across exec.)
func measure(b *testing.B, name string, args ...string) (time.Duration, float64) {
	b.Helper()
	rssFile := filepath.Join(b.TempDir(), "rss")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile, name}, args...)...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	kb, err := os.ReadFile(rssFile)
	if err != nil {
		b.Fatal(err)
	}
	var rss float64
	fmt.Sscan(strings.TrimSpace(string(kb)), &rss)
	return wall, rss / 1024
}

// best runs f n times and keeps the fastest wall time (and its RSS).
func best(n int, f func() (time.Duration, float64)) (time.Duration, float64) {
	var bw time.Duration
	var br float64
	for i := 0; i < n; i++ {
		w, r := f()
		if i == 0 || w < bw {
			bw, br = w, r
		}
	}
	return bw, br
}

func buildBundle(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "bundle")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/bundle")
	cmd.Dir = repoRoot(b)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func linkAll(b *testing.B, dir string, files []string) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		if err := os.Link(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			b.Fatal(err)
		}
	}
}

// benchIndex compares `bundle repo index` with createrepo_c and sha256sum
// on one corpus.
func benchIndex(b *testing.B, small, files, large, largeMB int) {
	needTools(b, "createrepo_c", "sha256sum", "/usr/bin/time")
	bin := buildBundle(b)
	root := b.TempDir()
	rpms := benchCorpus(b, filepath.Join(root, "corpus"), small, files, large, largeMB)
	sort.Strings(rpms)
	ours, cr := filepath.Join(root, "ours"), filepath.Join(root, "cr")
	linkAll(b, ours, rpms)
	linkAll(b, cr, rpms)
	var total int64
	for _, f := range rpms {
		fi, _ := os.Stat(f)
		total += fi.Size()
	}
	// Warm the page cache so every tool reads from memory.
	measure(b, "sha256sum", rpms...)
	b.ResetTimer()
	const runs = 3
	shaT, _ := best(runs, func() (time.Duration, float64) { return measure(b, "sha256sum", rpms...) })
	crT, crRSS := best(runs, func() (time.Duration, float64) {
		os.RemoveAll(filepath.Join(cr, "repodata"))
		return measure(b, "createrepo_c", "--workers", "2", "--no-database", "-q", cr)
	})
	ourT, ourRSS := best(runs, func() (time.Duration, float64) {
		os.RemoveAll(filepath.Join(ours, "repodata"))
		return measure(b, bin, "repo", "index", "--workers", "2", "--epoch", "1426032000", "-q", ours)
	})
	crU, crURSS := best(runs, func() (time.Duration, float64) {
		return measure(b, "createrepo_c", "--update", "--workers", "2", "--no-database", "-q", cr)
	})
	ourU, ourURSS := best(runs, func() (time.Duration, float64) {
		return measure(b, bin, "repo", "index", "--update", "--workers", "2", "--epoch", "1426032000", "-q", ours)
	})
	b.StopTimer()
	if err := VerifyRepodata(b.Context(), ours); err != nil {
		b.Fatal(err)
	}
	s := func(d time.Duration) float64 { return d.Seconds() }
	b.ReportMetric(s(ourT)/s(crT), "x-createrepo_c")
	b.ReportMetric(s(ourU)/s(crU), "x-createrepo_c-update")
	b.ReportMetric(s(ourT)/s(shaT), "x-sha256sum")
	b.ReportMetric(ourRSS, "MiB-rss")
	b.ReportMetric(crRSS, "MiB-rss-createrepo_c")
	b.ReportMetric(float64(len(rpms)), "packages")
	b.ReportMetric(float64(total)/(1<<20), "MiB-corpus")
	b.Logf("%d packages, %.1f MiB: bundle %.3fs (%.0f MiB RSS), createrepo_c %.3fs (%.0f MiB), sha256sum %.3fs; "+
		"--update: bundle %.3fs (%.0f MiB), createrepo_c %.3fs (%.0f MiB)",
		len(rpms), float64(total)/(1<<20), s(ourT), ourRSS, s(crT), crRSS, s(shaT), s(ourU), ourURSS, s(crU), crURSS)
}

// BenchmarkIndexMixed: a few hundred packages, five of them 40 MiB.
func BenchmarkIndexMixed(b *testing.B) { benchIndex(b, 300, 24, 5, 40) }

// BenchmarkIndexSmall: thousands of small packages.
func BenchmarkIndexSmall(b *testing.B) { benchIndex(b, 3000, 12, 0, 0) }
