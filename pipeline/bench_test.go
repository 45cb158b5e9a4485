package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/rpmpack"
)

const benchRPMs = 405

// benchSite writes a definition with one repo of n generated RPMs into dir:
// each has 40 files and 1 MiB of incompressible payload (about the mean size
// of a CentOS 7 package) and requires the previous package's library and a
// file of an earlier one, so the SBOM's dependency resolution has work.
func benchSite(b *testing.B, dir string, n int) {
	b.Helper()
	rpms := filepath.Join(dir, "rpms")
	if err := os.MkdirAll(rpms, 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewChaCha8([32]byte{18}))
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("bench-%03d", i)
		md := rpmpack.RPMMetaData{Name: name, Version: "1." + fmt.Sprint(i%9), Release: "1.el6", Arch: "x86_64", OS: "linux",
			Summary: "benchmark package " + name, Description: "A package of the SBOM benchmark.", Licence: []string{"ASL 2.0", "GPLv2+", "MIT"}[i%3],
			Vendor: "Bench Corp", Packager: "Bench <bench@example.org>", URL: "https://example.org/" + name,
			Compressor: "zstd:1", Epoch: rpmpack.NoEpoch, BuildTime: time.Unix(1426032000, 0)}
		md.Provides.Set(fmt.Sprintf("libbench%d.so.1()(64bit)", i))
		if i == 0 {
			md.Provides.Set("mesos = 0.22.0") // what the distro's role needs
		}
		if i > 0 {
			md.Requires.Set(fmt.Sprintf("libbench%d.so.1()(64bit)", i-1))
			md.Requires.Set(fmt.Sprintf("/usr/share/bench-%03d/file-00.txt", rng.IntN(i)))
		}
		md.Requires.Set("/bin/sh")
		r, err := rpmpack.NewRPM(md)
		if err != nil {
			b.Fatal(err)
		}
		for f := 0; f < 40; f++ {
			r.AddFile(rpmpack.RPMFile{Name: fmt.Sprintf("/usr/share/%s/file-%02d.txt", name, f), Body: []byte(fmt.Sprintf("file %d of %s\n", f, name)),
				Mode: 0o100644, Owner: "root", Group: "root", MTime: 1426032000})
		}
		payload := make([]byte, 1<<20)
		for j := 0; j+8 <= len(payload); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				payload[j+k] = byte(v >> (8 * k))
			}
		}
		r.AddFile(rpmpack.RPMFile{Name: "/usr/lib64/libbench" + fmt.Sprint(i) + ".so.1", Body: payload, Mode: 0o100755, Owner: "root", Group: "root", MTime: 1426032000})
		f, err := os.Create(filepath.Join(rpms, fmt.Sprintf("%s-%s-1.el6.x86_64.rpm", name, md.Version)))
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Write(f); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	site := `bundle "bench" {
  version = "1"
  epoch   = 1426032000
}

repo "bench" {
  version  = "1"
  packages = ["rpms"]
  base_url = "https://bde/yum/repos/bench/1/"
}

distro "bench" {
  vendor  = "BENCH"
  version = "1"
  repos   = [repo.bench]
  roles   = ["mesos_master"]
  baseline {
    provides = ["/bin/sh"]
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(site), 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSBOMProvenance405 builds a bundle of 405 RPMs from a cold start
// (no scan or hash cache: every header read, every file hashed, repodata and
// a tar.zst written) and reports, from the same builds, the time spent
// writing sbom.cdx.json and the provenance and their share of the build.
func BenchmarkSBOMProvenance405(b *testing.B) {
	src := b.TempDir()
	benchSite(b, src, benchRPMs)
	ctx := context.Background()
	b.ResetTimer()
	var build, sbomT, provT time.Duration
	var sbomSize int64
	for i := 0; i < b.N; i++ {
		outDir := b.TempDir()
		start := time.Now()
		built, err := Build(ctx, BuildRequest{CompileRequest: CompileRequest{Path: src, Mode: ModeBuild, Offline: true, NoCache: true, OutDir: outDir}, BuilderVersion: "bench"})
		if err == nil && built.Diagnostics.HasErrors() {
			err = built.Diagnostics
		}
		r := built.Bundle
		if err != nil {
			b.Fatal(err)
		}
		build += time.Since(start)
		sbomT += r.SBOMTime
		provT += r.ProvenanceTime
		if r.Packages != benchRPMs {
			b.Fatalf("%d packages built, want %d", r.Packages, benchRPMs)
		}
		fi, err := os.Stat(filepath.Join(r.Dir, "sbom.cdx.json"))
		if err != nil {
			b.Fatal(err)
		}
		sbomSize = fi.Size()
	}
	n := float64(b.N)
	b.ReportMetric(float64(build.Milliseconds())/n, "build-ms")
	b.ReportMetric(float64(sbomT.Microseconds())/1000/n, "sbom-ms")
	b.ReportMetric(float64(provT.Microseconds())/1000/n, "provenance-ms")
	b.ReportMetric(100*float64(sbomT+provT)/float64(build), "sbom+prov-%")
	b.ReportMetric(float64(sbomSize)/1024, "sbom-KiB")
}
