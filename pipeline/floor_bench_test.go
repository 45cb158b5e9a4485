//go:build linux

// The packing-floor benchmark runs GNU tar, zstd and coreutils sync and
// reads Linux rusage.

package pipeline

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/testutil"
)

// BenchmarkBuildPackingFloor405 is `bundle build --no-cache` of the 405
// generated RPMs of BenchmarkSBOMProvenance405 (405 MiB: load, scan every
// RPM, repodata, SBOM, hard links, tar.zst, fsync) against only packing the
// same RPMs, `tar -cf - rpms | zstd -3 -T2 -o OUT && sync OUT`, on the same
// file system, both flushed to disk, the inputs in the page cache for both.
// Five runs alternated; best and median, wall and CPU (the build runs in
// this process: its CPU is this process's rusage over the build).
func BenchmarkBuildPackingFloor405(b *testing.B) {
	src := b.TempDir()
	benchSite(b, src, benchRPMs)
	ctx := context.Background()
	const runs = 5
	for range b.N {
		work := b.TempDir()
		refOut := filepath.Join(work, "ref.tar.zst")
		ref := fmt.Sprintf("tar -C %s -cf - rpms | zstd -q -3 -T2 -o %s && sync %s", src, refOut, refOut)
		if err := exec.Command("bash", "-c", "cat "+src+"/rpms/*.rpm > /dev/null").Run(); err != nil {
			b.Fatal(err)
		}
		var refW, refC, ourW, ourC []time.Duration
		for i := range runs {
			os.Remove(refOut)
			cmd := exec.Command("bash", "-c", ref)
			start := time.Now()
			if outp, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", ref, err, outp)
			}
			refW = append(refW, time.Since(start))
			refC = append(refC, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())

			outDir := filepath.Join(work, fmt.Sprint("out", i))
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			start = time.Now()
			built, err := Build(ctx, BuildRequest{CompileRequest: CompileRequest{Path: src, Mode: ModeBuild, Offline: true, NoCache: true, OutDir: outDir}, BuilderVersion: "bench"})
			if err == nil && built.Diagnostics.HasErrors() {
				err = built.Diagnostics
			}
			r := built.Bundle
			if err != nil {
				b.Fatal(err)
			}
			ourW = append(ourW, time.Since(start))
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			ourC = append(ourC, time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()))
			if r.Packages != benchRPMs || r.ScannedHashes != benchRPMs {
				b.Fatalf("%d packages built, %d digests from the scan; want %d", r.Packages, r.ScannedHashes, benchRPMs)
			}
			os.RemoveAll(outDir)
		}
		ours, refs, ratios := testutil.FloorRuns{OurWall: ourW, OurCPU: ourC, RefWall: refW, RefCPU: refC}.Report(b)
		b.Logf(`405 RPMs (405 MiB), %d runs alternated (best / median):
  bundle build --no-cache (load, scan, repodata, SBOM, hard links, tar.zst, fsynced): %s
  %s:
    %s
  build / reference: %s
  (go test ./pipeline -run '^$' -bench BuildPackingFloor405 -benchtime 1x -count 3)`,
			runs, ours, ref, refs, ratios)
	}
}
