//go:build linux

// The benchmarks compare against GNU tar and read peak RSS from Linux rusage.

package ovf_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images/ovf"
)

// BenchmarkOVA10GSparse archives a 10 GB sparse disk file into an OVA written
// to io.Discard and compares the time with `tar -cf - FILE | cat >/dev/null`
// on the same file in the same run. It reports the heap growth during the
// write (it must not grow with the disk) and the process's peak RSS.
func BenchmarkOVA10GSparse(b *testing.B) {
	const size = 10 << 30
	dir := b.TempDir()
	name := "big"
	disk := name + "-disk1.vmdk"
	if err := os.WriteFile(filepath.Join(dir, disk), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, disk), size); err != nil {
		b.Fatal(err)
	}
	desc := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:href="%s" ovf:id="file1" ovf:size="%d"/>
  </References>
</Envelope>
`, disk, int64(size))
	if err := os.WriteFile(filepath.Join(dir, name+".ovf"), []byte(desc), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".mf"), []byte("SHA256(big.ovf)= 00\n"), 0o644); err != nil {
		b.Fatal(err)
	}

	// Reference: GNU tar of the same file, piped so tar cannot skip reading;
	// once with its default 10 KiB records and once with 1 MiB records (our
	// copy buffer size).
	runTar := func(args string) time.Duration {
		start := time.Now()
		cmd := exec.Command("sh", "-c", "tar "+args+" -cf - "+disk+" | cat >/dev/null")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tar: %v: %s", err, out)
		}
		return time.Since(start)
	}
	tarTime := runTar("")
	tarBigTime := runTar("-b 2048")

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peakHeap.Load() {
					peakHeap.Store(m.HeapInuse)
				}
			}
		}
	})

	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if err := ovf.WriteOVA(context.Background(), io.Discard, dir, name, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	ours := b.Elapsed() / time.Duration(b.N)

	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MiB/op")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(size)/ours.Seconds()/(1<<20), "MiB/s")
	b.ReportMetric(float64(size)/tarTime.Seconds()/(1<<20), "tar-MiB/s")
	b.ReportMetric(tarTime.Seconds()/ours.Seconds(), "speed-vs-tar")
	b.ReportMetric(tarBigTime.Seconds()/ours.Seconds(), "speed-vs-tar-b2048")
}
