package rpm

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

var (
	fuzzBasesOnce sync.Once
	fuzzBases     [][]byte
)

// rpmFuzzBases reads the real packages the fuzz target mutates: rpmbuild's
// (xz and zstd payloads), rpmpack's, and CentOS 5 (V3 DSA, MD5 and SHA1
// only) and 7 (V3 RSA, SHA-256) release packages; under make conformance
// createrepo_c's test packages too.
func rpmFuzzBases(t testing.TB) [][]byte {
	fuzzBasesOnce.Do(func() {
		var paths []string
		for _, p := range rpmfixture.SpecFixtures(t) {
			if n := filepath.Base(p); strings.HasPrefix(n, "beta-data-") || strings.HasPrefix(n, "alpha-tools-") {
				paths = append(paths, p)
			}
		}
		paths = append(paths,
			rpmfixture.OutsideRPM(t, "centos-release-5-0.0.el5.centos.2.x86_64.rpm"),
			rpmfixture.OutsideRPM(t, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"))
		if d := os.Getenv(rpmfixture.ConformanceEnv); d != "" {
			paths = append(paths, rpmfixture.CreaterepoRPMs(t, d)...)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fuzzBases = append(fuzzBases, b)
		}
	})
	return fuzzBases
}

// rpmkeysOnlyMD5Bad reports whether the only failure rpmkeys -Kv lists is
// the MD5 over header and payload, which the scan without keys skips when
// SHA-256 digests cover header and payload (docs/repo.md).
func rpmkeysOnlyMD5Bad(out string) bool {
	bad := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "BAD") || strings.HasPrefix(l, "error:") {
			if !strings.Contains(l, "MD5 digest: BAD") {
				return false
			}
			bad++
		}
	}
	return bad == 1
}

// FuzzRPMHeaderAgainstRpmkeys mutates the headers of real packages (a
// byte flipped, or a 32-bit word set: counts, offsets, types, tags) and
// holds the scan to rpm's verdict: every package `rpmkeys -K
// --nosignature` refuses, the scan refuses too. The reverse need not hold:
// the scan also requires the region tag rpm reads legacy headers without.
// The seeds run in every test run; `go test ./repo/rpm -run '^$' -fuzz
// FuzzRPMHeaderAgainstRpmkeys -fuzztime 10s` explores further (CI).
func FuzzRPMHeaderAgainstRpmkeys(f *testing.F) {
	rpmfixture.NeedTools(f, "rpmkeys", "rpmbuild")
	bases := rpmFuzzBases(f)
	for i, b := range bases {
		end := rpmfixture.MainHeaderAt(b) + rpmfixture.MainHeaderLen(b[rpmfixture.MainHeaderAt(b):])
		for k := 0; k < 8; k++ {
			off := uint32(96 + (end-96)*k/8)
			f.Add(uint8(i), off, uint32(1), uint8(1))
			f.Add(uint8(i), off&^3, uint32(0xffff), uint8(4))
		}
		// the counts of both headers, and the first entries after the regions
		f.Add(uint8(i), uint32(96+8), uint32(33), uint8(4))
		f.Add(uint8(i), uint32(rpmfixture.MainHeaderAt(b)+12), uint32(headerDataMax+1), uint8(4))
		f.Add(uint8(i), uint32(96+16+16+8), uint32(0), uint8(4))
		f.Add(uint8(i), uint32(rpmfixture.MainHeaderAt(b)+16+16+12), uint32(0x7fffffff), uint8(4))
	}
	db := f.TempDir()
	f.Fuzz(func(t *testing.T, base uint8, off uint32, val uint32, width uint8) {
		orig := bases[int(base)%len(bases)]
		end := rpmfixture.MainHeaderAt(orig) + rpmfixture.MainHeaderLen(orig[rpmfixture.MainHeaderAt(orig):])
		b := bytes.Clone(orig)
		o := int(off % uint32(end))
		if width%2 == 1 || o+4 > end {
			b[o] ^= byte(val) | 1
		} else {
			binary.BigEndian.PutUint32(b[o:], val)
		}
		p := filepath.Join(t.TempDir(), "mutated.rpm")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rpmOK, out := rpmkeysVerdict(t, db, p, "--nosignature")
		_, err := readAll(context.Background(), []string{p}, readOptions{})
		if !rpmOK && err == nil && !rpmkeysOnlyMD5Bad(out) {
			t.Fatalf("rpmkeys -K refuses the package (base %d, offset %d, value %#x, width %d), the scan accepts it:\n%s", base, o, val, width, out)
		}
	})
}
