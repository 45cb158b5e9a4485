//go:build linux

// The benchmark reads peak RSS from Linux rusage.

package rpm

import (
	"crypto"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// BenchmarkVerifySigned measures what signature checks cost per package:
// 200 small packages (24 files) signed with V3 RSA-2048/SHA256 or V3
// DSA-1024/SHA1 packets over the header and over header and payload, each
// scanned with one worker without keys (digests only) and with the keys
// (digests and both signatures); best of 5, in CPU time of the process.
// Reported: microseconds per package of each scan and the difference.
func BenchmarkVerifySigned(b *testing.B) {
	rsaK, dsaK, _, _ := rpmfixture.V3Keys(b)
	keyring := openpgp.EntityList{rsaK.Entity, dsaK.Entity}
	src := rpmfixture.BenchCorpus(b, filepath.Join(b.TempDir(), "src"), 200, 24, 0, 0)
	signed := map[string][]string{}
	for _, k := range []struct {
		name string
		spec rpmfixture.SigSpec
	}{
		{"rsa", rpmfixture.SigSpec{Key: rsaK, Hash: crypto.SHA256, Header: true, Full: true}},
		{"dsa", rpmfixture.SigSpec{Key: dsaK, Hash: crypto.SHA1, Header: true, Full: true}},
	} {
		dir := b.TempDir()
		for _, p := range src {
			out := filepath.Join(dir, filepath.Base(p))
			rpmfixture.V3Sign(b, p, out, k.spec)
			signed[k.name] = append(signed[k.name], out)
		}
	}
	// CPU time of this process (user+system): the machine is shared, so
	// wall time would measure the neighbours.
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	best := func(paths []string, kr openpgp.EntityList) time.Duration {
		var min time.Duration
		for range 5 {
			start := cpu()
			if _, err := readAll(b.Context(), paths, readOptions{Keyring: kr}); err != nil {
				b.Fatal(err)
			}
			if d := cpu() - start; min == 0 || d < min {
				min = d
			}
		}
		return min
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(len(src)) }
	best(src, nil) // warm the page cache
	for range b.N {
		unsigned := best(src, nil)
		b.ReportMetric(us(unsigned), "µs/pkg-unsigned")
		for _, name := range []string{"rsa", "dsa"} {
			plain, checked := best(signed[name], nil), best(signed[name], keyring)
			b.ReportMetric(us(plain), "µs/pkg-"+name+"-nokeys")
			b.ReportMetric(us(checked), "µs/pkg-"+name+"-verified")
			b.ReportMetric(us(checked-plain), "µs/pkg-"+name+"-cost")
			b.Logf("%s: %d packages, unsigned %.0f µs/pkg, signed without keys %.0f µs/pkg, verified %.0f µs/pkg: %s per package for the two signatures",
				name, len(src), us(unsigned), us(plain), us(checked), fmt.Sprintf("%.0f µs", us(checked-plain)))
		}
	}
}
