package repo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestUpdate checks --update: unchanged packages are reused, changed,
// added and removed ones are noticed, and the result is byte-identical to
// a full index of the same files.
func TestUpdate(t *testing.T) {
	rpms := append(specFixtures(t), sharedRPMs(t)...)
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
