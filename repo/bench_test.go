package repo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/rpmcorpus"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

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

func buildBundle(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "bundle")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/bundle")
	cmd.Dir = rpmfixture.RepoRoot(b)
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

// BenchmarkIndexMixed compares `bundle repo index` with createrepo_c and
// sha256sum on the distro-like mixed corpus (internal/rpmcorpus): 400
// packages of 1 to 120 files with xz payloads (ghost, config, directory
// and symlink files, every dependency operator, weak dependencies,
// changelogs of 1 to 8 entries) and five Mesos-sized packages of about
// 1,000 files and 30 MiB. Alternated runs, min / median / max; then
// --update with nothing changed.
func BenchmarkIndexMixed(b *testing.B) {
	rpmfixture.NeedTools(b, "createrepo_c", "sha256sum", "/usr/bin/time")
	bin := buildBundle(b)
	root := b.TempDir()
	rpms := keptCorpus(b, root, "distro-mixed-405", func(dir string) []string {
		return genCorpus(b, dir, rpmcorpus.Options{Packages: 400, Large: 5, LargeMiB: 30, Mixed: true, Seed: 1})
	})
	ours, cr := filepath.Join(root, "ours"), filepath.Join(root, "cr")
	linkAll(b, ours, rpms)
	linkAll(b, cr, rpms)
	// Warm the page cache so every tool reads from memory.
	measure(b, "sha256sum", rpms...)
	const runs = 5
	b.ResetTimer()
	ourCmd := []string{bin, "repo", "index", "--workers", "2", "--epoch", "1426032000", "-q", ours}
	crCmd := []string{"createrepo_c", "--workers", "2", "--no-database", "-q", cr}
	full := alternate(b, runs, ourCmd, crCmd, func() {
		os.RemoveAll(filepath.Join(ours, "repodata"))
		os.RemoveAll(filepath.Join(cr, "repodata"))
	})
	sha := alternate(b, 3, ourCmd, append([]string{"sha256sum"}, rpms...), func() {
		os.RemoveAll(filepath.Join(ours, "repodata"))
	})
	crUCmd := append([]string{crCmd[0], "--update"}, crCmd[1:]...)
	ourUCmd := append([]string{bin, "repo", "index", "--update"}, ourCmd[3:]...)
	upd := alternate(b, 3, ourUCmd, crUCmd, func() {})
	b.StopTimer()
	if err := VerifyRepodata(b.Context(), ours); err != nil {
		b.Fatal(err)
	}
	full.report(b, "")
	upd.report(b, "-update")
	_, ow, _ := stats(sha.ours, wallOf)
	_, sw, _ := stats(sha.refs, wallOf)
	b.ReportMetric(ow/sw, "x-sha256sum")
	b.ReportMetric(float64(len(rpms)), "packages")
	// Go truncates a benchmark's log after ten lines: the comparison with
	// sha256sum in one.
	_, sc, _ := stats(sha.refs, cpuOf)
	b.Logf("%d distro-like RPMs (%s), %d runs alternated, min / median / max:\n%s\n  --update, nothing changed:\n%s\n"+
		"  sha256sum of the RPMs (3 runs, medians): %.3f s wall, %.3f s CPU; bundle / sha256sum: wall %.2fx",
		len(rpms), corpusSize(rpms), runs, full, upd, sw, sc, ow/sw)
}
