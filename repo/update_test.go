package repo

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUpdate checks --update: unchanged packages are reused, changed,
// added and removed ones are noticed, and the result is byte-identical to
// a full index of the same files.
func TestUpdate(t *testing.T) {
	rpms := append(specFixtures(t), corpusRPMs(t)...)
	dir := t.TempDir()
	copyFiles(t, dir, rpms, testEpoch)
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
	if err := os.Chtimes(victim, testEpoch, testEpoch); err != nil {
		t.Fatal(err)
	}
	// Add one and remove one.
	copyFiles(t, filepath.Join(dir, "sub"), rpms[2:3], testEpoch)
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
	copyFiles(t, fresh, rpms[:2], testEpoch)
	if res := indexDir(t, fresh, IndexOptions{Update: true}); res.Read != 2 {
		t.Errorf("update of a new repository read %d packages, want 2", res.Read)
	}
}

// TestUpdateDistrustsBadRepodata: old repodata that was edited (and no
// longer matches repomd.xml), is garbage, or is missing is not reused: the
// update reads every package, says why, and writes the same repodata as a
// full index. A baseline read of such repodata is an error naming the file.
func TestUpdateDistrustsBadRepodata(t *testing.T) {
	rpms := corpusRPMs(t)[:4]
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyFiles(t, dir, rpms, testEpoch)
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
