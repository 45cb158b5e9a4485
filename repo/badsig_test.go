package repo

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// TestBadSignaturesReportedAtOnce: every refused package of a directory is
// named in one error and the old repodata stays.
func TestBadSignaturesReportedAtOnce(t *testing.T) {
	rpmfixture.NeedTools(t, "rpmkeys", "rpmbuild")
	_, keyring := rpmfixture.TrustedKeys(t)
	var good, bad []string
	for _, fx := range rpmfixture.SigFixtures(t) {
		if strings.HasPrefix(fx.Name, "outside/") {
			continue
		}
		if _, err := Scan(t.Context(), []string{fx.Path}, ScanOptions{Keyring: keyring}); err == nil {
			good = append(good, fx.Path)
		} else {
			bad = append(bad, fx.Path)
		}
	}
	if len(bad) < 8 || len(good) < 8 {
		t.Fatalf("want many good and bad fixtures, have %d and %d", len(good), len(bad))
	}
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, good[:4], rpmfixture.Epoch)
	indexDir(t, dir, IndexOptions{Keyring: keyring})
	before := repodataBytes(t, dir)
	rpmfixture.CopyFiles(t, dir, bad, rpmfixture.Epoch)
	_, err := Index(t.Context(), dir, IndexOptions{Keyring: keyring, Epoch: 1})
	if err == nil {
		t.Fatal("Index accepted bad packages")
	}
	for _, b := range bad {
		if !strings.Contains(err.Error(), filepath.Join(dir, filepath.Base(b))) {
			t.Errorf("error does not name %s", filepath.Base(b))
		}
	}
	for _, g := range good[:4] {
		if strings.Contains(err.Error(), filepath.Base(g)+"\"") {
			t.Errorf("error blames good %s", filepath.Base(g))
		}
	}
	sameRepodata(t, before, repodataBytes(t, dir))
}
