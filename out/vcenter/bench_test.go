package vcenter

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
)

// BenchmarkDeployThroughput deploys a 128 MiB serengeti/ tree (64 files of
// 2 MiB) to the in-process simulator and uploads the same files with raw
// Datastore.UploadFile one after the other, in the same run, and reports
// both rates and their ratio. Deploy includes verifying every sha256.
func BenchmarkDeployThroughput(b *testing.B) {
	const files, size = 64, 2 << 20
	s := newSim(b)
	spec := &bundleSpec{name: "bench", version: "1", files: map[string][]byte{}, target: Target{Name: "site"}}
	for i := range files {
		spec.files[fmt.Sprintf("serengeti/www/yum/repos/big/1.0/pkg-%03d.rpm", i)] = randBytes(uint64(i), size)
	}
	dir := spec.write(b, b.TempDir())
	spec.files = nil
	bundle, err := LoadBundle(dir)
	if err != nil {
		b.Fatal(err)
	}
	total := int64(files * size)
	ctx := ctxT(b)
	var rawDur, depDur time.Duration
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := s.config(b, spec.target, Overrides{DatastorePath: fmt.Sprintf("deploy-%d", i)})
		// Raw: one UploadFile per file, after making the folder.
		sess, err := Connect(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		inv, err := sess.resolve(ctx, cfg, false)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, f := range bundle.serengetiFiles() {
			dst := path.Join(fmt.Sprintf("raw-%d", i), f.Path)
			if err := inv.ds.UploadFile(ctx, filepath.Join(dir, filepath.FromSlash(f.Path)), dst, &soap.DefaultUpload); err != nil {
				b.Fatal(err)
			}
		}
		rawDur += time.Since(start)
		_ = sess.Logout(ctx)

		start = time.Now()
		out, err := Deploy(ctx, dir, cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		depDur += time.Since(start)
		if out.UploadBytes != total {
			b.Fatalf("deploy uploaded %d bytes, want %d", out.UploadBytes, total)
		}
		b.StopTimer()
		_ = os.RemoveAll(filepath.Join(s.dsDir(b), fmt.Sprintf("raw-%d", i)))
		_ = os.RemoveAll(filepath.Join(s.dsDir(b), fmt.Sprintf("deploy-%d", i)))
		b.StartTimer()
	}
	mb := float64(total) * float64(b.N) / (1 << 20)
	b.ReportMetric(mb/depDur.Seconds(), "deploy-MiB/s")
	b.ReportMetric(mb/rawDur.Seconds(), "raw-MiB/s")
	b.ReportMetric(rawDur.Seconds()/depDur.Seconds(), "ratio-vs-raw")
}
