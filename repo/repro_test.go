package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

func repodataBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "repodata"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "repodata", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sameRepodata(t *testing.T, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("repodata file sets differ: %d vs %d files", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("repodata/%s differs", name)
		}
	}
}

// TestReproducible indexes the same RPMs in two directories with different
// file mtimes and expects identical repodata bytes, and the same again on a
// re-run.
func TestReproducible(t *testing.T) {
	rpms := append(rpmfixture.SpecFixtures(t), rpmfixture.Corpus(t)...)
	a, b := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "elsewhere", "two")
	rpmfixture.CopyFiles(t, a, rpms, time.Unix(1000000000, 0))
	rpmfixture.CopyFiles(t, b, rpms, time.Unix(1600000000, 0))
	indexDir(t, a, IndexOptions{Revision: "7"})
	indexDir(t, b, IndexOptions{Revision: "7", Workers: 1})
	first := repodataBytes(t, a)
	sameRepodata(t, first, repodataBytes(t, b))
	indexDir(t, a, IndexOptions{Revision: "7"})
	sameRepodata(t, first, repodataBytes(t, a))
	if !bytes.Contains(first["repomd.xml"], []byte("<revision>7</revision>")) ||
		!bytes.Contains(first["repomd.xml"], []byte("<timestamp>1426032000</timestamp>")) {
		t.Errorf("repomd.xml lacks the given revision and epoch:\n%s", first["repomd.xml"])
	}

	// Without an epoch the newest build time is used, still independent
	// of file mtimes.
	res1, err := Index(t.Context(), a, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := Index(t.Context(), b, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res1.Timestamp != res2.Timestamp || res1.Timestamp <= 0 {
		t.Errorf("default timestamps %d and %d, want the same newest build time", res1.Timestamp, res2.Timestamp)
	}
	sameRepodata(t, repodataBytes(t, a), repodataBytes(t, b))
}

// TestNoSyncSameRepodata: WriteRepodata without its own flushes (the
// build flushes the staging tree) writes the same bytes.
func TestNoSyncSameRepodata(t *testing.T) {
	rpms := rpmfixture.SpecFixtures(t)
	pkgs, err := Scan(t.Context(), rpms, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := t.TempDir(), t.TempDir()
	if err := WriteRepodata(t.Context(), a, pkgs, WriteOptions{Timestamp: 1426032000}); err != nil {
		t.Fatal(err)
	}
	if err := WriteRepodata(t.Context(), b, pkgs, WriteOptions{Timestamp: 1426032000, NoSync: true}); err != nil {
		t.Fatal(err)
	}
	first := repodataBytes(t, a)
	if len(first) < 4 {
		t.Fatalf("repodata holds %d files, want repomd.xml and three metadata files", len(first))
	}
	sameRepodata(t, first, repodataBytes(t, b))
}
