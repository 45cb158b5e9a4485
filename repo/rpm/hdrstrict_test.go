package rpm

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// strictCase is a mutation of a real package that rpm refuses as malformed.
type strictCase struct {
	name string
	// mutate changes the package; false when it does not apply to it.
	mutate func(t *testing.T, in []byte) ([]byte, bool)
	want   string // in bundle's refusal
}

// withSigEntries rebuilds the signature header of b with extra entries.
func withSigEntries(t *testing.T, b []byte, extra func([]rpmfixture.HdrEntry) []rpmfixture.HdrEntry) []byte {
	lead, ents, rest := rpmfixture.SplitRPM(t, b)
	return rpmfixture.JoinRPM(lead, extra(ents), rest)
}

var strictCases = []strictCase{
	{"33 signature header tags (rpm allows 32)", func(t *testing.T, b []byte) ([]byte, bool) {
		return withSigEntries(t, b, func(es []rpmfixture.HdrEntry) []rpmfixture.HdrEntry {
			for tag := uint32(2000); len(es) < 32; tag++ {
				es = append(es, rpmfixture.HdrEntry{Tag: tag, Typ: 7, Count: 1, Data: []byte{0}})
			}
			return es
		}), true
	}, "corrupt signature header (33 tags, rpm allows at most 32)"},
	{"65535 signature header string tags (20 s of CPU before)", func(t *testing.T, b []byte) ([]byte, bool) {
		return withSigEntries(t, b, func(es []rpmfixture.HdrEntry) []rpmfixture.HdrEntry {
			for tag := uint32(2000); len(es) < 65534; tag++ {
				es = append(es, rpmfixture.HdrEntry{Tag: tag, Typ: 6, Count: 1, Data: []byte("x\x00")})
			}
			return es
		}), true
	}, "65535 tags, rpm allows at most 32"},
	{"provides overlapping the previous entry's data", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		i, ok := h.Find(tagProvideName)
		if !ok || i < 2 {
			return nil, false
		}
		h.Set(i, 2, h.Field(i-1, 2)&^3)
		return b, true
	}, "overlaps the previous entry's"},
	{"entry tag below 100", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		h.Set(1, 0, 99)
		return b, true
	}, "tag number below 100"},
	{"unknown entry type 10", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		h.Set(1, 1, 10)
		return b, true
	}, "unknown type"},
	{"entry count 0", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		h.Set(1, 3, 0)
		return b, true
	}, "count out of range"},
	{"misaligned INT32 entry", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		i, ok := h.Find(tagBuildTime)
		if !ok {
			return nil, false
		}
		h.Set(i, 2, h.Field(i, 2)+1)
		return b, true
	}, "misaligned"},
	{"string array with more strings than data", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		i, ok := h.Find(tagProvideName)
		if !ok {
			return nil, false
		}
		h.Set(i, 3, uint32(h.DL))
		return b, true
	}, "data does not fit"},
	{"tag with another type than rpm's (NAME as BIN)", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		i, ok := h.Find(tagName)
		if !ok {
			return nil, false
		}
		h.Set(i, 1, 7)
		return b, true
	}, "type does not match the tag's"},
	{"region trailer damaged", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		binary.BigEndian.PutUint32(h.Dat[h.Field(0, 2)+4:], 8)
		return b, true
	}, "region trailer: BAD"},
	{"region smaller than the header (an entry outside it)", func(t *testing.T, b []byte) ([]byte, bool) {
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		tr := h.Dat[h.Field(0, 2)+8:]
		binary.BigEndian.PutUint32(tr, uint32(int32(-(h.IL-1)*16)))
		return b, true
	}, "tag number mismatch"},
	{"no header digest: SHA256HEADER renamed, SHA1HEADER and MD5 gone, a header byte flipped", func(t *testing.T, b []byte) ([]byte, bool) {
		b = withSigEntries(t, b, func(es []rpmfixture.HdrEntry) []rpmfixture.HdrEntry {
			var k []rpmfixture.HdrEntry
			for _, e := range es {
				switch e.Tag {
				case 269, 1004: // SHA1HEADER, MD5
				case 273: // SHA256HEADER
					e.Tag = 275
					k = append(k, e)
				default:
					k = append(k, e)
				}
			}
			return k
		})
		h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
		i, ok := h.Find(tagSummary)
		if !ok {
			return nil, false
		}
		h.Dat[h.Field(i, 2)] ^= 0x20 // the summary's first letter changes case
		return b, true
	}, "no header digest"},
}

// strictBases are the real packages the strict cases mutate: rpmbuild's,
// rpmpack's and CentOS 7's.
func strictBases(t *testing.T) []string {
	spec := rpmfixture.SpecFixtures(t)
	var out []string
	for _, p := range spec {
		if strings.HasPrefix(filepath.Base(p), "beta-data-") {
			out = append(out, p)
		}
	}
	out = append(out, rpmfixture.OutsideRPM(t, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"))
	return out
}

// TestHeaderStrictAsRpm: each mutation of a real package is refused by
// `rpmkeys -K --nosignature` and by the scan, for the reason named. Every
// case is accepted without its check (the scan read the packages before).
func TestHeaderStrictAsRpm(t *testing.T) {
	rpmfixture.NeedTools(t, "rpmkeys", "rpmbuild")
	db := t.TempDir()
	dir := t.TempDir()
	applied := make([]int, len(strictCases)) // bases each case could mutate
	for _, base := range strictBases(t) {
		orig, err := os.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(context.Background(), []string{base}, readOptions{}); err != nil {
			t.Fatalf("the base package is refused: %v", err)
		}
		for i, c := range strictCases {
			t.Run(filepath.Base(base)+"/"+c.name, func(t *testing.T) {
				b, ok := c.mutate(t, bytes.Clone(orig))
				if !ok {
					t.Skipf("%s has nothing this case changes", filepath.Base(base))
				}
				applied[i]++
				p := filepath.Join(dir, fmt.Sprintf("%d-%s", i, filepath.Base(base)))
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				if ok, out := rpmkeysVerdict(t, db, p, "--nosignature"); ok {
					t.Fatalf("rpmkeys -K accepts the mutation; the case proves nothing:\n%s", out)
				}
				_, err := readAll(context.Background(), []string{p}, readOptions{})
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("scan says %v; want a refusal saying %q", err, c.want)
				}
			})
		}
	}
	// A case no base package can carry proves nothing: it must not hide
	// behind its per-package skips.
	for i, c := range strictCases {
		if applied[i] == 0 {
			t.Errorf("case %q changes none of the base packages", c.name)
		}
	}
}

// TestHeaderStrictCorpus: the strict checks keep the verdict rpm gives
// every real package of the corpus (distro packages, and createrepo_c's
// test packages under make conformance): accepted where `rpmkeys -K
// --nosignature` says OK, refused where it does not.
func TestHeaderStrictCorpus(t *testing.T) {
	rpmfixture.NeedTools(t, "rpmkeys")
	db := t.TempDir()
	for _, p := range rpmfixture.Corpus(t) {
		rpmOK, out := rpmkeysVerdict(t, db, p, "--nosignature")
		_, err := readAll(context.Background(), []string{p}, readOptions{})
		if rpmOK != (err == nil) {
			t.Errorf("%s: scan says %v, rpmkeys -K --nosignature:\n%s", filepath.Base(p), err, out)
		}
	}
}

// TestHeaderCheckAllocatesNothing: the strict checks of a real package's
// headers (a thousand-odd entries in all for CentOS 7's release package)
// allocate nothing: their cost is the walk over the index and the string
// data, linear in the headers' size.
func TestHeaderCheckAllocatesNothing(t *testing.T) {
	b, err := os.ReadFile(rpmfixture.OutsideRPM(t, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	sigEnd := 96 + 16 + int(binary.BigEndian.Uint32(b[96+8:]))*16 + int(binary.BigEndian.Uint32(b[96+12:]))
	at := rpmfixture.MainHeaderAt(b)
	sig, main := b[96:sigEnd], b[at:at+rpmfixture.MainHeaderLen(b[at:])]
	if err := checkHeaderBlob(sig, true); err != nil {
		t.Fatal(err)
	}
	if err := checkHeaderBlob(main, false); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = checkHeaderBlob(sig, true)
		_ = checkHeaderBlob(main, false)
	}); n != 0 {
		t.Errorf("%v allocations per check", n)
	}
}
