package rpmfixture

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/rpmpack"
)

// Corrupt is a damaged RPM: its bytes (nil: a dangling symlink in its
// place) and what the error refusing it must say.
type Corrupt struct {
	Name string
	Data []byte
	Want string
}

// CorruptRPMs returns the damaged packages the readers must refuse: a
// package rpmpack built truncated or with a byte flipped in each part, a
// CentOS 5 package (only an MD5 covers its payload) damaged, a file that
// is not an RPM, an empty file and a missing one. The good packages are
// Corpus(t).
func CorruptRPMs(t testing.TB) []Corrupt {
	t.Helper()
	good := Corpus(t)
	big := PackRPM(t, t.TempDir(), rpmpack.RPMMetaData{Name: "victim", Summary: "v", Licence: "MIT"},
		map[string][]byte{"/usr/share/victim/data": []byte(strings.Repeat("payload bytes ", 4000))})
	victim, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	hdrStart := MainHeaderAt(victim)
	hdrEnd := hdrStart + MainHeaderLen(victim[hdrStart:])
	flip := func(off int) []byte {
		b := append([]byte(nil), victim...)
		b[off] ^= 0x5a
		return b
	}
	// CentOS 5 predates payload digests: only the MD5 of header and
	// payload in the signature header covers its payload.
	md5only, err := os.ReadFile(good[slices.IndexFunc(good, func(p string) bool { return strings.Contains(p, "centos-release-5-0.0.el5.centos.2.x86_64") })])
	if err != nil {
		t.Fatal(err)
	}
	md5flip := append([]byte(nil), md5only...)
	md5flip[len(md5flip)-10] ^= 0x5a
	return []Corrupt{
		{"truncated in payload", victim[:len(victim)-100], "payload is corrupt or truncated"},
		{"truncated in header", victim[:hdrEnd-50], "truncated"},
		{"truncated in lead", victim[:50], "truncated"},
		{"flipped header byte", flip(hdrEnd - 20), "header digest mismatch"},
		{"flipped payload byte", flip(len(victim) - 200), "payload digest mismatch"},
		{"flipped signature header byte", flip(96 + 16 + 3), "corrupt signature header"},
		{"flipped header magic", flip(hdrStart), "corrupt header"},
		{"flipped payload byte, MD5 only", md5flip, "MD5 digest mismatch"},
		{"truncated payload, MD5 only", md5only[:len(md5only)-10], "MD5 digest mismatch"},
		{"not an RPM", []byte("<html>this is not a package</html>\n"), "not an RPM"},
		{"empty file", []byte{}, "empty file"},
		{"unreadable", nil, "no such file"},
	}
}

// MainHeaderAt is the offset of the main header: after the lead and the
// signature header, padded to 8 bytes.
func MainHeaderAt(b []byte) int {
	il := int(BeU32(b[96+8:]))
	dl := int(BeU32(b[96+12:]))
	return 96 + 16 + il*16 + (dl+7)/8*8
}
