package repo

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/rpmpack"
)

// TestCorruptRPMs feeds Index one bad file next to good ones: each must
// fail with an error naming the file and the problem, leave the previous
// repodata as it was and leave no temporary directory behind.
func TestCorruptRPMs(t *testing.T) {
	// Small reads, so a payload spans many of them.
	old := payloadChunk
	payloadChunk = 1000
	defer func() { payloadChunk = old }()
	good := corpusRPMs(t)
	big := packRPM(t, t.TempDir(), rpmpack.RPMMetaData{Name: "victim", Summary: "v", Licence: "MIT"},
		map[string][]byte{"/usr/share/victim/data": []byte(strings.Repeat("payload bytes ", 4000))})
	victim, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := Scan(t.Context(), []string{big}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hdrEnd := int(pkgs[0].HeaderEnd)
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
	tests := []struct {
		name string
		data []byte // nil: a dangling symlink
		want string
	}{
		{"truncated in payload", victim[:len(victim)-100], "payload is corrupt or truncated"},
		{"truncated in header", victim[:hdrEnd-50], "truncated"},
		{"truncated in lead", victim[:50], "truncated"},
		{"flipped header byte", flip(hdrEnd - 20), "header digest mismatch"},
		{"flipped payload byte", flip(len(victim) - 200), "payload digest mismatch"},
		{"flipped signature header byte", flip(96 + 16 + 3), "corrupt signature header"},
		{"flipped header magic", flip(int(pkgs[0].HeaderStart)), "corrupt header"},
		{"flipped payload byte, MD5 only", md5flip, "MD5 digest mismatch"},
		{"truncated payload, MD5 only", md5only[:len(md5only)-10], "MD5 digest mismatch"},
		{"not an RPM", []byte("<html>this is not a package</html>\n"), "not an RPM"},
		{"empty file", []byte{}, "empty file"},
		{"unreadable", nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyFiles(t, dir, good, testEpoch)
			indexDir(t, dir, IndexOptions{})
			before := repodataBytes(t, dir)
			bad := filepath.Join(dir, "victim.rpm")
			if tt.data == nil {
				if err := os.Symlink(filepath.Join(dir, "gone.rpm.missing"), bad); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(bad, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Index(t.Context(), dir, IndexOptions{Epoch: 1})
			if err == nil {
				t.Fatal("Index accepted the bad file")
			}
			msg := err.Error()
			if !strings.Contains(msg, bad) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q should name %s and say %q", msg, bad, tt.want)
			}
			for _, g := range good {
				if strings.Contains(msg, filepath.Base(g)) {
					t.Errorf("error blames the good %s: %v", filepath.Base(g), err)
				}
			}
			sameRepodata(t, before, repodataBytes(t, dir))
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".repodata") {
					t.Errorf("left behind %s", e.Name())
				}
			}
		})
	}
}

// TestWriteFailureLeavesOldRepodata makes the write itself fail (cancelled
// context) and checks the old repodata survives.
func TestWriteFailureLeavesOldRepodata(t *testing.T) {
	dir := t.TempDir()
	copyFiles(t, dir, corpusRPMs(t), testEpoch)
	indexDir(t, dir, IndexOptions{})
	before := repodataBytes(t, dir)
	pkgs, err := ReadRepodata(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	cancel()
	if err := WriteRepodata(ctx, dir, pkgs, WriteOptions{Timestamp: 5}); err == nil {
		t.Fatal("WriteRepodata succeeded with a cancelled context")
	}
	sameRepodata(t, before, repodataBytes(t, dir))
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".repodata") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}
