package repo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// TestUpdate checks --update: unchanged packages are reused, changed,
// added and removed ones are noticed, and the result is byte-identical to
// a full index of the same files.
func TestUpdate(t *testing.T) {
	rpms := append(rpmfixture.SpecFixtures(t), rpmfixture.Corpus(t)...)
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
	full := indexDir(t, dir, IndexOptions{})
	if full.Read != len(rpms) || full.Reused != 0 {
		t.Fatalf("first index read %d, reused %d", full.Read, full.Reused)
	}
	want := repodataBytes(t, dir)

	res := indexDir(t, dir, IndexOptions{Update: true})
	if res.Reused != len(rpms) || res.Read != 0 {
		t.Errorf("unchanged update read %d, reused %d; want 0 and %d", res.Read, res.Reused, len(rpms))
	}
	sameRepodata(t, want, repodataBytes(t, dir))
	// Reused packages list their signatures as read ones do.
	signed := 0
	for _, ps := range full.Signatures {
		if len(ps.Signatures) > 0 {
			signed++
		}
	}
	if signed == 0 {
		t.Fatal("no signed fixture: the signature comparison would prove nothing")
	}
	if !reflect.DeepEqual(res.Signatures, full.Signatures) {
		t.Errorf("signatures after an unchanged update:\n%+v\nwant (full index):\n%+v", res.Signatures, full.Signatures)
	}

	// Replace one RPM by another file of the same name, then reset its
	// mtime to the old value (as cp -p would): ctime still gives it away.
	victim := filepath.Join(dir, filepath.Base(rpms[0]))
	data, err := os.ReadFile(rpms[1])
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(victim, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(victim, rpmfixture.Epoch, rpmfixture.Epoch); err != nil {
		t.Fatal(err)
	}
	// Add one and remove one.
	rpmfixture.CopyFiles(t, filepath.Join(dir, "sub"), rpms[2:3], rpmfixture.Epoch)
	if err := os.Remove(filepath.Join(dir, filepath.Base(rpms[3]))); err != nil {
		t.Fatal(err)
	}
	res = indexDir(t, dir, IndexOptions{Update: true})
	if res.Read != 2 || res.Packages != len(rpms) {
		t.Errorf("update after changes read %d of %d packages; want 2 of %d", res.Read, res.Packages, len(rpms))
	}
	updated := repodataBytes(t, dir)
	indexDir(t, dir, IndexOptions{})
	sameRepodata(t, repodataBytes(t, dir), updated)
	pkgs, err := ReadRepodata(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pkgs {
		if p.Location == "sub/"+filepath.Base(rpms[2]) {
			found = true
		}
	}
	if !found {
		t.Error("the RPM in a subdirectory is not listed with its relative path")
	}

	// --update without existing repodata is a full index.
	fresh := t.TempDir()
	rpmfixture.CopyFiles(t, fresh, rpms[:2], rpmfixture.Epoch)
	if res := indexDir(t, fresh, IndexOptions{Update: true}); res.Read != 2 {
		t.Errorf("update of a new repository read %d packages, want 2", res.Read)
	}
}

// TestUpdateDistrustsBadRepodata: old repodata that was edited (and no
// longer matches repomd.xml), is garbage, or is missing is not reused: the
// update reads every package, says why, and writes the same repodata as a
// full index. A baseline read of such repodata is an error naming the file.
func TestUpdateDistrustsBadRepodata(t *testing.T) {
	rpms := rpmfixture.Corpus(t)[:4]
	for _, tc := range []struct {
		name, want string
		damage     func(t *testing.T, primary string)
	}{
		{"edited primary", "repomd.xml says", func(t *testing.T, primary string) {
			b := readGz(t, primary)
			writeGz(t, primary, bytes.Replace(b, []byte("<name>"), []byte("<name>evil"), 1))
		}},
		{"garbage primary", "gzip", func(t *testing.T, primary string) {
			os.WriteFile(primary, []byte("not gzip at all"), 0o644)
		}},
		{"missing primary", "no such file", func(t *testing.T, primary string) {
			os.Remove(primary)
		}},
		{"primary is a FIFO", "not a regular file", func(t *testing.T, primary string) {
			os.Remove(primary)
			testutil.Mkfifo(t, primary)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
			indexDir(t, dir, IndexOptions{})
			want := repodataBytes(t, dir)
			md, err := readRepomd(dir)
			if err != nil {
				t.Fatal(err)
			}
			primary := filepath.Join(dir, filepath.FromSlash(md.href("primary")))
			tc.damage(t, primary)
			if _, err := ReadRepodata(t.Context(), dir); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Base(primary)) {
				t.Errorf("ReadRepodata: %v, want an error naming %s and saying %q", err, filepath.Base(primary), tc.want)
			}
			res := indexDir(t, dir, IndexOptions{Update: true})
			if res.Read != len(rpms) || res.Reused != 0 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "reading every package") {
				t.Errorf("update read %d, reused %d, warnings %q", res.Read, res.Reused, res.Warnings)
			}
			sameRepodata(t, want, repodataBytes(t, dir))
		})
	}
}

// TestUpdateMalformedOldRepodata: old repodata whose checksums match
// repomd.xml but whose XML is damaged is not copied: --update warns,
// naming the file and what is wrong, reads every package and writes what a
// full index writes. Truncating primary anywhere or flipping any byte never
// panics or hangs.
func TestUpdateMalformedOldRepodata(t *testing.T) {
	rpms := rpmfixture.Corpus(t)[:4]
	base := t.TempDir()
	rpmfixture.CopyFiles(t, base, rpms, rpmfixture.Epoch)
	indexDir(t, base, IndexOptions{})
	want := repodataBytes(t, base)
	cut := func(sep string, n int) func([]byte) []byte { // everything from the n-th sep on
		return func(b []byte) []byte {
			i := -1
			for range n {
				i += 1 + bytes.Index(b[i+1:], []byte(sep))
			}
			return b[:i]
		}
	}
	repl := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	}
	for _, tc := range []struct {
		name, kind, want string
		damage           func([]byte) []byte
	}{
		{"primary truncated in a package", "primary", "ends inside package 2", cut("<summary>", 2)},
		{"primary truncated before the root closes", "primary", "ends before </metadata>", cut("</metadata>", 1)},
		{"primary without a root", "primary", "unexpected", repl("<metadata ", "<other ")},
		{"primary rpm namespace elsewhere", "primary", "does not declare", repl(`xmlns:rpm="http://linux.duke.edu/metadata/rpm"`, `xmlns:rpm="urn:other"`)},
		{"filelists namespace declared in a package", "filelists", "namespace declaration", repl(`<package pkgid=`, `<package xmlns="urn:x" pkgid=`)},
		{"filelists tags unbalanced", "filelists", "does not close", repl("</file>", "</fil>")},
		{"other nested package", "other", "unbalanced", repl("</package>", "<package>")},
		{"primary bad entity", "primary", "bad entity reference", repl("<summary>", "<summary>&bogus;")},
		{"primary bad character reference", "primary", "bad entity reference", repl("<summary>", "<summary>&#1;")},
		{"primary unquoted attribute", "primary", "unquoted attribute", repl(`ver="`, `ver=`)},
		{"primary attribute with <", "primary", "bad value of attribute", repl(`ver="`, `ver="<`)},
		{"primary not UTF-8", "primary", "not UTF-8", repl("<summary>", "<summary>\xff")},
		{"primary comment in a package", "primary", "comment", repl("<summary>", "<!-- x --><summary>")},
		{"primary without time file", "primary", "no <time file>", repl("<time file=", "<time fyle=")},
		{"primary without location", "primary", "no <location href>", repl("<location href=", "<location hruf=")},
		{"primary text between packages", "primary", "text outside", repl("</package>\n", "</package>\nx")},
		{"other pkgid differs", "other", "primary says", repl(`pkgid="`, `pkgid="0`)},
		// Well-formed, but not as bundle (or createrepo_c 0.17) writes it.
		{"primary attributes reordered", "primary", "not in the form", repl(`type="sha256" pkgid="YES"`, `pkgid="YES" type="sha256"`)},
		{"filelists indented otherwise", "filelists", "not in the form", repl("\n  <file>", "\n    <file>")},
		{"other with an unknown element", "other", "not in the form", repl("</package>", "<extra/></package>")},
		{"primary number written otherwise", "primary", "not in the form", repl(`<size package="`, `<size package="0`)},
		{"primary non-primary file", "primary", "not in the form", repl("    <file>", "    <file>/usr/share/doc/x</file>\n    <file>")},
		{"filelists lacks the last package", "filelists", "number of packages differs", func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte("<package "))
			j := bytes.LastIndex(b, []byte("</package>\n")) + len("</package>\n")
			return append(b[:i:i], b[j:]...)
		}},
		{"filelists lacks the first package", "filelists", "primary says", func(b []byte) []byte {
			i := bytes.Index(b, []byte("<package "))
			j := bytes.Index(b, []byte("</package>\n")) + len("</package>\n")
			return append(b[:i:i], b[j:]...)
		}},
		{"primary gzip stream truncated", "primary.gz", "unexpected EOF", func(b []byte) []byte { return b[:len(b)/2] }},
		{"primary gzip trailer cut", "primary.gz", "EOF", func(b []byte) []byte { return b[:len(b)-4] }},
		{"other empty", "other", "ends before </otherdata>", func([]byte) []byte { return nil }},
		{"filelists binary", "filelists", "text outside", func([]byte) []byte { return []byte("\x00\x01\x02<\x03\x04\x05\x06\x07\x08\x09\x0a") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
			indexDir(t, dir, IndexOptions{})
			file := rewriteMetadata(t, dir, tc.kind, tc.damage)
			res := indexDir(t, dir, IndexOptions{Update: true})
			if res.Read != len(rpms) || res.Reused != 0 || len(res.Warnings) != 1 ||
				!strings.Contains(res.Warnings[0], "reading every package") ||
				!strings.Contains(res.Warnings[0], file) || !strings.Contains(res.Warnings[0], tc.want) {
				t.Errorf("update read %d, reused %d, warnings %q; want one naming %s and saying %q", res.Read, res.Reused, res.Warnings, file, tc.want)
			}
			sameRepodata(t, want, repodataBytes(t, dir))
		})
	}
	// Truncated anywhere, or with any one byte changed (checksums
	// matching): an error or a result, never a panic or a hang.
	t.Run("every truncation and flip", func(t *testing.T) {
		dir := t.TempDir()
		rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
		indexDir(t, dir, IndexOptions{})
		orig := readRepodataFiles(t, dir)["primary"]
		sp, err := newSpill(t.TempDir(), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.close()
		step := max(1, len(orig)/400)
		for i := 0; i < len(orig); i += step {
			for _, damaged := range [][]byte{orig[:i], append(append(append([]byte(nil), orig[:i]...), orig[i]^0x20), orig[i+1:]...)} {
				rewriteMetadata(t, dir, "primary", func([]byte) []byte { return damaged })
				n := 0
				err := loadOldRepodata(t.Context(), dir, sp, func(string, oldPackage) { n++ })
				if len(damaged) < len(orig) && err == nil {
					t.Fatalf("primary truncated to %d of %d bytes: no error (%d packages)", len(damaged), len(orig), n)
				}
				if err != nil && !strings.Contains(err.Error(), "primary") {
					t.Fatalf("error does not name the file: %v", err)
				}
			}
		}
	})
}

// rewriteMetadata replaces the uncompressed content of one metadata file
// with damage(content), gzipped (kind "primary.gz": damages primary's
// compressed bytes), and records its checksum in repomd.xml so that only
// the content is wrong. It returns the file's base name.
func rewriteMetadata(t *testing.T, dir, kind string, damage func([]byte) []byte) string {
	t.Helper()
	md, err := readRepomd(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := md.data(strings.TrimSuffix(kind, ".gz"))
	p := filepath.Join(dir, filepath.FromSlash(d.Location.Href))
	if kind == "primary.gz" { // damage the compressed bytes
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, damage(b), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		writeGz(t, p, damage(readGz(t, p)))
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	mdPath := filepath.Join(dir, "repodata", "repomd.xml")
	mdb, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	old := ">" + strings.TrimSpace(d.Checksum.Value) + "<"
	if !bytes.Contains(mdb, []byte(old)) {
		t.Fatalf("repomd.xml has no %s", old)
	}
	mdb = bytes.Replace(mdb, []byte(old), []byte(">"+hex.EncodeToString(sum[:])+"<"), 1)
	if err := os.WriteFile(mdPath, mdb, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(p)
}

// TestUpdateBadRepomd: a repomd.xml that is a FIFO (which would block a
// plain read), too large, or not XML is not trusted: a warning naming it,
// every package read, the full index's bytes.
func TestUpdateBadRepomd(t *testing.T) {
	rpms := rpmfixture.Corpus(t)[:3]
	for _, tc := range []struct {
		name, want string
		damage     func(t *testing.T, repomd string)
	}{
		{"FIFO", "not a regular file", func(t *testing.T, repomd string) {
			os.Remove(repomd)
			testutil.Mkfifo(t, repomd)
		}},
		{"too large", "too large", func(t *testing.T, repomd string) {
			if err := os.Truncate(repomd, maxRepomd+1); err != nil {
				t.Fatal(err)
			}
		}},
		// The primary metadata moved out of the repository (intact, its
		// checksum right) and repomd.xml pointing there: not read.
		{"href climbing out of the repodata directory", "not a file in the repodata directory", func(t *testing.T, repomd string) {
			b, err := os.ReadFile(repomd)
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`href="(repodata/[^"]*primary[^"]*)"`).FindSubmatch(b)
			if m == nil {
				t.Fatalf("no primary href in %s", b)
			}
			repo := filepath.Dir(filepath.Dir(repomd))
			planted := filepath.Join(filepath.Dir(repo), "planted-primary.xml.gz")
			if err := os.Rename(filepath.Join(repo, filepath.FromSlash(string(m[1]))), planted); err != nil {
				t.Fatal(err)
			}
			href := "../" + filepath.Base(planted)
			if err := os.WriteFile(repomd, bytes.Replace(b, m[1], []byte(href), 1), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"not XML", "XML syntax error", func(t *testing.T, repomd string) {
			if err := os.WriteFile(repomd, []byte("<repomd><data"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
			indexDir(t, dir, IndexOptions{})
			want := repodataBytes(t, dir)
			tc.damage(t, filepath.Join(dir, "repodata", "repomd.xml"))
			res := indexDir(t, dir, IndexOptions{Update: true})
			if res.Read != len(rpms) || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "repomd.xml") || !strings.Contains(res.Warnings[0], tc.want) {
				t.Errorf("update read %d, warnings %q; want one naming repomd.xml and saying %q", res.Read, res.Warnings, tc.want)
			}
			sameRepodata(t, want, repodataBytes(t, dir))
		})
	}
}

func readGz(t *testing.T, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeGz(t *testing.T, p string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateOverCreaterepoC: repodata createrepo_c wrote is reused by
// --update (every package), and the result is byte for byte what a full
// index of the same files writes, with the signatures of a full read.
func TestUpdateOverCreaterepoC(t *testing.T) {
	rpmfixture.NeedTools(t, "createrepo_c", "rpmbuild")
	rpms := append(rpmfixture.SpecFixtures(t), rpmfixture.Corpus(t)...)
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
	rpmfixture.Run(t, dir, "createrepo_c", "--no-database", "--workers", "2", "-q", dir)
	res := indexDir(t, dir, IndexOptions{Update: true})
	if res.Reused != len(rpms) || len(res.Warnings) != 0 {
		t.Fatalf("update over createrepo_c's repodata reused %d of %d, warnings %q", res.Reused, len(rpms), res.Warnings)
	}
	updated := repodataBytes(t, dir)
	full := indexDir(t, dir, IndexOptions{})
	sameRepodata(t, repodataBytes(t, dir), updated)
	if !reflect.DeepEqual(res.Signatures, full.Signatures) {
		t.Errorf("signatures after the update differ from a full index's")
	}
}
