package rpmfixture

import (
	"bytes"
	"crypto"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/google/rpmpack"
	"github.com/sassoftware/go-rpmutils"
)

// SigFixture is one RPM of the rpmkeys comparison.
type SigFixture struct {
	Name string
	Path string
	// why: substrings the refusal must carry (besides the path) when
	// rpmkeys says NOT OK.
	Why []string
	// md5Only: only the MD5 is wrong, which bundle without keys does not
	// check when SHA-256 digests cover header and payload (docs/repo.md).
	MD5Only bool
}

var (
	sigFixOnce sync.Once
	sigFixList []SigFixture
)

// srpmSpec is built with rpmbuild -bs: a source package.
const srpmSpec = `Name: srcpkg
Version: 2.0
Release: 3
Summary: A source package
License: MIT
%description
Source package fixture.
%prep
%build
%install
%files
`

func BuildSRPM(t testing.TB, dir string) string {
	t.Helper()
	NeedTools(t, "rpmbuild")
	top := filepath.Join(dir, "srpm-top")
	for _, d := range []string{"SPECS", "SOURCES", "SRPMS"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sp := filepath.Join(top, "SPECS", "srcpkg.spec")
	if err := os.WriteFile(sp, []byte(srpmSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("rpmbuild", "--define", "_topdir "+top, "--quiet", "-bs", sp)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1426032000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild -bs: %v\n%s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(top, "SRPMS", "*.src.rpm"))
	if len(m) != 1 {
		t.Fatalf("rpmbuild -bs made %v", m)
	}
	return m[0]
}

// FlipAt copies in to out with the byte at off (negative: from the end)
// changed.
func FlipAt(t testing.TB, in, out string, off func(b []byte) int) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	b[off(b)] ^= 0x01
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// SigFixtures builds the signed, damaged and real packages once.
func SigFixtures(t testing.TB) []SigFixture {
	t.Helper()
	rsaK, dsaK, subK, stranger := V3Keys(t)
	sigFixOnce.Do(func() {
		dir := filepath.Join(Scratch(t), "sigfix")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		spec := SpecFixtures(t)
		pick := func(name string) string {
			for _, p := range spec {
				if strings.HasPrefix(filepath.Base(p), name+"-") {
					return p
				}
			}
			t.Fatalf("no spec fixture %s", name)
			return ""
		}
		packed := PackRPM(t, dir, rpmpack.RPMMetaData{Name: "packed", Summary: "p", Licence: "MIT", Compressor: "xz"},
			map[string][]byte{"/usr/share/packed/data": bytes.Repeat([]byte("payload "), 3000)})
		bases := map[string]string{
			"beta-data":   pick("beta-data"),   // x86_64, xz, epoch
			"alpha-tools": pick("alpha-tools"), // noarch, zstd
			"base-shell":  pick("base-shell"),  // gzip
			"packed":      packed,              // rpmpack, xz
			"srcpkg":      BuildSRPM(t, dir),   // source package
		}
		add := func(name, path string, why ...string) {
			sigFixList = append(sigFixList, SigFixture{Name: name, Path: path, Why: why})
		}
		out := func(name string) string { return filepath.Join(dir, name+".rpm") }
		for _, b := range []string{"beta-data", "alpha-tools", "base-shell", "packed", "srcpkg"} {
			in := bases[b]
			add(b+"/unsigned", in, "not signed")
			V3Sign(t, in, out(b+"-v3-rsa-sha256"), SigSpec{Key: rsaK, Hash: crypto.SHA256, Header: true, Full: true})
			add(b+"/v3 RSA/SHA256", out(b+"-v3-rsa-sha256"))
			V3Sign(t, in, out(b+"-v3-dsa-sha1"), SigSpec{Key: dsaK, Hash: crypto.SHA1, Header: true, Full: true})
			add(b+"/v3 DSA/SHA1", out(b+"-v3-dsa-sha1"))
		}
		beta := bases["beta-data"]
		V3Sign(t, beta, out("v3-rsa-sha1-full-only"), SigSpec{Key: rsaK, Hash: crypto.SHA1, Full: true})
		add("v3 RSA/SHA1, header+payload only (rpm 4.4 style)", out("v3-rsa-sha1-full-only"))
		V3Sign(t, beta, out("v3-rsa-header-only"), SigSpec{Key: rsaK, Hash: crypto.SHA256, Header: true})
		add("v3 RSA/SHA256, header only", out("v3-rsa-header-only"))
		V3Sign(t, beta, out("v3-dsa-sha256"), SigSpec{Key: dsaK, Hash: crypto.SHA256, Header: true, Full: true})
		add("v3 DSA/SHA256", out("v3-dsa-sha256"))
		V3Sign(t, beta, out("v3-subkey"), SigSpec{Key: subK, Hash: crypto.SHA256, Header: true, Full: true})
		add("v3 RSA by a signing subkey", out("v3-subkey"))
		V3Sign(t, beta, out("v3-stranger"), SigSpec{Key: stranger, Hash: crypto.SHA256, Header: true, Full: true})
		add("v3 RSA by a key not listed", out("v3-stranger"), fmt.Sprintf("%016x", stranger.KeyID), "not among the trusted keys")
		V3Sign(t, beta, out("v3-mixed"), SigSpec{Key: rsaK, Hash: crypto.SHA256, Header: true}, SigSpec{Key: stranger, Hash: crypto.SHA256, Full: true})
		add("v3 header by a trusted key, payload by a key not listed", out("v3-mixed"), "PGP", fmt.Sprintf("%016x", stranger.KeyID))
		func() {
			f, err := os.Open(beta)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := rpmutils.SignRpmFile(f, out("v4-rsa"), rsaK.Entity.PrivateKey, nil); err != nil {
				t.Fatal(err)
			}
			add("v4 RSA/SHA256 (go-rpmutils)", out("v4-rsa"))
		}()
		// V4 EdDSA (Ed25519) over the header (RSAHEADER, where rpm puts
		// every header-only V4 signature) and over header and payload
		// (PGP), and damaged copies.
		ed := EdDSAKey(t)
		for _, b := range []string{"beta-data", "packed"} {
			func() {
				f, err := os.Open(bases[b])
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := rpmutils.SignRpmFile(f, out(b+"-v4-eddsa"), ed.PrivateKey, &rpmutils.SignatureOptions{Hash: crypto.SHA256, CreationTime: KeyTime}); err != nil {
					t.Fatal(err)
				}
				add(b+"/v4 EdDSA/SHA256", out(b+"-v4-eddsa"))
			}()
		}
		edSigned := out("beta-data-v4-eddsa")
		eb, err := os.ReadFile(edSigned)
		if err != nil {
			t.Fatal(err)
		}
		edSigEnd := func(tag uint32) int {
			il := int(BeU32(eb[96+8:]))
			for i := 0; i < il; i++ {
				e := eb[96+16+i*16:]
				if BeU32(e) == tag {
					return 96 + 16 + il*16 + int(BeU32(e[8:])) + int(BeU32(e[12:])) - 1
				}
			}
			t.Fatalf("no tag %d in the EdDSA-signed fixture", tag)
			return 0
		}
		edID := fmt.Sprintf("%016x", ed.PrimaryKey.KeyId)
		FlipAt(t, edSigned, out("eddsa-flip-rsaheader"), func([]byte) int { return edSigEnd(268) })
		add("v4 EdDSA, flipped signature byte (RSAHEADER value)", out("eddsa-flip-rsaheader"), "RSAHEADER", edID)
		FlipAt(t, edSigned, out("eddsa-flip-pgp"), func([]byte) int { return edSigEnd(1002) })
		add("v4 EdDSA, flipped signature byte (PGP value)", out("eddsa-flip-pgp"), "PGP", edID)
		_, _, edRest := SplitRPM(t, eb)
		FlipAt(t, edSigned, out("eddsa-flip-header"), func(b []byte) int { return len(b) - len(edRest) + MainHeaderLen(edRest) - 10 })
		add("v4 EdDSA, flipped header byte (in the region trailer)", out("eddsa-flip-header"), "corrupt header (region trailer: BAD")
		FlipAt(t, edSigned, out("eddsa-flip-payload"), func(b []byte) int { return len(b) - 40 })
		add("v4 EdDSA, flipped payload byte", out("eddsa-flip-payload"), "payload digest mismatch")

		// Damage to a V3-signed package.
		signed := out("beta-data-v3-rsa-sha256")
		b, err := os.ReadFile(signed)
		if err != nil {
			t.Fatal(err)
		}
		_, ents, rest := SplitRPM(t, b)
		hdrStart := len(b) - len(rest)
		hdrEnd := hdrStart + MainHeaderLen(rest)
		FlipAt(t, signed, out("flip-header"), func([]byte) int { return hdrEnd - 30 })
		add("flipped main header byte", out("flip-header"), "header digest mismatch")
		FlipAt(t, signed, out("flip-payload"), func(b []byte) int { return len(b) - 40 })
		add("flipped payload byte", out("flip-payload"), "payload digest mismatch")
		// the last byte of the RSAHEADER packet (its signature value)
		sigEnd := func(tag uint32) int {
			il := int(BeU32(b[96+8:]))
			for i := 0; i < il; i++ {
				e := b[96+16+i*16:]
				if BeU32(e) == tag {
					return 96 + 16 + il*16 + int(BeU32(e[8:])) + int(BeU32(e[12:])) - 1
				}
			}
			t.Fatalf("no tag %d", tag)
			return 0
		}
		FlipAt(t, signed, out("flip-rsaheader"), func([]byte) int { return sigEnd(268) })
		add("flipped signature byte (RSAHEADER value)", out("flip-rsaheader"), "RSAHEADER", fmt.Sprintf("%016x", rsaK.KeyID))
		FlipAt(t, signed, out("flip-pgp"), func([]byte) int { return sigEnd(1002) })
		add("flipped signature byte (PGP value)", out("flip-pgp"), "PGP", fmt.Sprintf("%016x", rsaK.KeyID))
		EditSigHeader(t, signed, out("no-sha256header"), func(es []HdrEntry) []HdrEntry {
			var k []HdrEntry
			for _, e := range es {
				if e.Tag != 273 {
					k = append(k, e)
				}
			}
			return k
		})
		add("SHA256HEADER missing", out("no-sha256header"))
		EditSigHeader(t, signed, out("renamed-sha256header"), func(es []HdrEntry) []HdrEntry {
			for i := range es {
				if es[i].Tag == 273 {
					es[i].Tag = 275
				}
			}
			return es
		})
		add("SHA256HEADER renamed", out("renamed-sha256header"))
		EditSigHeader(t, signed, out("no-header-digests"), func(es []HdrEntry) []HdrEntry {
			var k []HdrEntry
			for _, e := range es {
				if e.Tag != 273 && e.Tag != 269 {
					k = append(k, e)
				}
			}
			return k
		})
		add("no header digest at all", out("no-header-digests"))
		EditSigHeader(t, signed, out("wrong-sha256header"), func(es []HdrEntry) []HdrEntry {
			for i := range es {
				if es[i].Tag == 273 {
					es[i].Data = append([]byte(strings.Repeat("0", 64)), 0)
				}
			}
			return es
		})
		add("SHA256HEADER wrong", out("wrong-sha256header"), "header digest mismatch")
		EditSigHeader(t, bases["beta-data"], out("wrong-md5"), func(es []HdrEntry) []HdrEntry {
			for i := range es {
				if es[i].Tag == 1004 {
					es[i].Data[0] ^= 1
				}
			}
			return es
		})
		sigFixList = append(sigFixList, SigFixture{Name: "MD5 wrong (unsigned)", Path: out("wrong-md5"), Why: []string{"MD5 digest mismatch"}, MD5Only: true})
		EditSigHeader(t, signed, out("wrong-md5-signed"), func(es []HdrEntry) []HdrEntry {
			for i := range es {
				if es[i].Tag == 1004 {
					es[i].Data[0] ^= 1
				}
			}
			return es
		})
		sigFixList = append(sigFixList, SigFixture{Name: "MD5 wrong (signed)", Path: out("wrong-md5-signed"), Why: []string{"MD5 digest mismatch"}, MD5Only: true})
		if err := os.WriteFile(out("truncated-sigheader"), b[:96+16+len(ents)*8], 0o644); err != nil {
			t.Fatal(err)
		}
		add("truncated signature header", out("truncated-sigheader"), "truncated")
		_ = ents

		// Real distro packages, and damaged copies.
		for _, p := range OutsideRPMs(t) {
			add("outside/"+filepath.Base(p), p)
		}
		c7 := OutsideRPM(t, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm")
		FlipAt(t, c7, out("c7-flip-payload"), func(b []byte) int { return len(b) - 100 })
		add("CentOS 7, flipped payload byte", out("c7-flip-payload"), "digest mismatch")
		cb, err := os.ReadFile(c7)
		if err != nil {
			t.Fatal(err)
		}
		_, _, crest := SplitRPM(t, cb)
		FlipAt(t, c7, out("c7-flip-header"), func(b []byte) int { return len(b) - len(crest) + MainHeaderLen(crest) - 10 })
		add("CentOS 7, flipped header byte (in the region trailer)", out("c7-flip-header"), "corrupt header (region trailer: BAD")
		c5 := OutsideRPM(t, "centos-release-5-0.0.el5.centos.2.x86_64.rpm")
		FlipAt(t, c5, out("c5-flip-payload"), func(b []byte) int { return len(b) - 100 })
		add("CentOS 5, flipped payload byte", out("c5-flip-payload"), "MD5 digest mismatch")
	})
	if len(sigFixList) == 0 {
		t.Fatal("signature fixtures were not built")
	}
	return sigFixList
}

// BeU32 reads a big-endian 32-bit word.
func BeU32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// TrustedKeys writes the armored public keys of the test and the CentOS
// key files, returning their paths and the keyring bundle reads from them.
func TrustedKeys(t testing.TB) ([]string, openpgp.EntityList) {
	t.Helper()
	rsaK, dsaK, subK, _ := V3Keys(t)
	dir := t.TempDir()
	var paths []string
	var el openpgp.EntityList
	for i, k := range []*V3Key{rsaK, dsaK, subK} {
		p := filepath.Join(dir, fmt.Sprintf("RPM-GPG-KEY-test-%d", i))
		if err := os.WriteFile(p, ArmoredPublic(t, k.Entity), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	p := filepath.Join(dir, "RPM-GPG-KEY-test-eddsa")
	if err := os.WriteFile(p, ArmoredPublic(t, EdDSAKey(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, p)
	for _, n := range []string{"2", "3", "4", "5", "6", "7"} {
		paths = append(paths, CentOSKey(t, n))
	}
	for _, p := range paths {
		el = append(el, ReadKeyFile(t, p)...)
	}
	return paths, el
}
