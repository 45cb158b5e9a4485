package repo

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
	"github.com/bdebundle/bundle/repo/rpm"
	"github.com/google/rpmpack"
)

// cacheCorpus copies the rpmbuild fixtures and the shared test RPMs into a
// fresh directory and returns it with the copied paths.
func cacheCorpus(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, append(rpmfixture.SpecFixtures(t), rpmfixture.Corpus(t)...), rpmfixture.Epoch)
	paths, err := findRPMs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, paths
}

func openCache(t *testing.T, dir string) *ScanCache {
	t.Helper()
	c, err := OpenScanCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.MinSize = 0 // the test RPMs are small
	return c
}

func cachedScan(t *testing.T, cacheDir string, paths []string, opts ScanOptions) ([]*rpm.Package, ScanCacheStats) {
	t.Helper()
	c := openCache(t, cacheDir)
	pkgs, err := c.Scan(context.Background(), paths, opts)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return pkgs, c.Stats()
}

func wantStats(t *testing.T, got ScanCacheStats, hits, misses, stored int64) {
	t.Helper()
	if got != (ScanCacheStats{Hits: hits, Misses: misses, Stored: stored}) {
		t.Errorf("stats %+v, want hits %d misses %d stored %d", got, hits, misses, stored)
	}
}

// writtenRepodata writes pkgs as repodata into a fresh directory and
// returns every file written.
func writtenRepodata(t *testing.T, pkgs []*rpm.Package) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if err := WriteRepodata(context.Background(), dir, pkgs, WriteOptions{Timestamp: 1426032000}); err != nil {
		t.Fatal(err)
	}
	return repodataBytes(t, dir)
}

func TestScanCacheReusesUnchangedFiles(t *testing.T) {
	dir, paths := cacheCorpus(t)
	cdir := t.TempDir()
	opts := ScanOptions{Root: dir}
	fresh, err := Scan(context.Background(), paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	cold, st := cachedScan(t, cdir, paths, opts)
	n := int64(len(paths))
	wantStats(t, st, 0, n, n)
	warm, st := cachedScan(t, cdir, paths, opts)
	// Every package came from its entry: no file was opened.
	wantStats(t, st, n, 0, 0)
	if !reflect.DeepEqual(fresh, cold) {
		t.Error("a cold cached scan differs from a plain scan")
	}
	if !reflect.DeepEqual(fresh, warm) {
		for i := range fresh {
			if !reflect.DeepEqual(fresh[i], warm[i]) {
				t.Errorf("%s: cached %+v\nfresh %+v", paths[i], warm[i], fresh[i])
			}
		}
	}
	want, got := writtenRepodata(t, fresh), writtenRepodata(t, warm)
	if !reflect.DeepEqual(want, got) {
		t.Error("repodata written from cached packages differs from that of a fresh scan")
	}
	if len(want) < 4 {
		t.Errorf("repodata has %d files", len(want))
	}
	entries, err := os.ReadDir(filepath.Join(cdir, "rpm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(paths) {
		t.Errorf("%d cache entries for %d files", len(entries), len(paths))
	}
}

func TestScanCacheLocationFollowsRoot(t *testing.T) {
	dir, paths := cacheCorpus(t)
	cdir := t.TempDir()
	cachedScan(t, cdir, paths, ScanOptions{Root: dir})
	pkgs, st := cachedScan(t, cdir, paths, ScanOptions{Root: filepath.Dir(dir)})
	wantStats(t, st, int64(len(paths)), 0, 0)
	for i, p := range pkgs {
		if want := filepath.Base(dir) + "/" + filepath.Base(paths[i]); p.Location != want {
			t.Errorf("location %q, want %q", p.Location, want)
		}
	}
}

func TestScanCacheRereadsChangedFiles(t *testing.T) {
	dir, paths := cacheCorpus(t)
	cdir := t.TempDir()
	cachedScan(t, cdir, paths, ScanOptions{Root: dir})
	n := int64(len(paths))

	// Same size and mtime, other content: only the change time tells.
	victim := paths[0]
	fi, err := os.Stat(victim)
	if err != nil {
		t.Fatal(err)
	}
	other := rpmfixture.PackRPM(t, t.TempDir(), rpmpack.RPMMetaData{Name: "replacement", Summary: "new", Licence: "MIT", Epoch: rpmpack.NoEpoch}, map[string][]byte{"/usr/share/r/a": []byte("a")})
	b, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(victim, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	// Touched only: same content, new mtime.
	touched := paths[1]
	now := time.Now()
	if err := os.Chtimes(touched, now, now); err != nil {
		t.Fatal(err)
	}
	pkgs, st := cachedScan(t, cdir, paths, ScanOptions{Root: dir})
	wantStats(t, st, n-2, 2, 2)
	if pkgs[0].Name != "replacement" {
		t.Errorf("rewritten file scanned as %q", pkgs[0].Name)
	}
	// A moved file is the same file (device and inode): found under its
	// new path, its location that path.
	moved := filepath.Join(dir, "moved.rpm")
	if err := os.Rename(paths[2], moved); err != nil {
		t.Fatal(err)
	}
	pkgs, st = cachedScan(t, cdir, []string{moved}, ScanOptions{Root: dir})
	wantStats(t, st, 1, 0, 0)
	if pkgs[0].Location != "moved.rpm" {
		t.Errorf("moved file located at %q", pkgs[0].Location)
	}
}

func TestScanCacheIgnoresBadEntries(t *testing.T) {
	dir, paths := cacheCorpus(t)
	paths = paths[:4]
	fresh, err := Scan(context.Background(), paths, ScanOptions{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	damage := []struct {
		name string
		f    func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"flipped byte", func(b []byte) []byte { b = bytes.Clone(b); b[len(b)-10] ^= 0x40; return b }},
		{"garbage", func(b []byte) []byte { return bytes.Repeat([]byte{0xa5}, len(b)) }},
		{"bad magic", func(b []byte) []byte { b = bytes.Clone(b); b[0] = 'x'; return b }},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			cdir := t.TempDir()
			cachedScan(t, cdir, paths, ScanOptions{Root: dir})
			entries, err := filepath.Glob(filepath.Join(cdir, "rpm", "*"))
			if err != nil || len(entries) != len(paths) {
				t.Fatalf("entries %v: %v", entries, err)
			}
			for _, e := range entries {
				b, err := os.ReadFile(e)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(e, d.f(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			pkgs, st := cachedScan(t, cdir, paths, ScanOptions{Root: dir})
			wantStats(t, st, 0, int64(len(paths)), int64(len(paths)))
			if !reflect.DeepEqual(pkgs, fresh) {
				t.Error("scan over damaged entries differs from a fresh scan")
			}
			// Rewritten: the next run uses them.
			_, st = cachedScan(t, cdir, paths, ScanOptions{Root: dir})
			wantStats(t, st, int64(len(paths)), 0, 0)
		})
	}
	t.Run("unreadable entry directory", func(t *testing.T) {
		cdir := t.TempDir()
		c := openCache(t, cdir)
		if err := os.RemoveAll(filepath.Join(cdir, "rpm")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cdir, "rpm"), []byte("not a directory"), 0o644); err != nil {
			t.Fatal(err)
		}
		pkgs, err := c.Scan(context.Background(), paths, ScanOptions{Root: dir})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if !reflect.DeepEqual(pkgs, fresh) {
			t.Error("scan without a usable cache differs from a fresh scan")
		}
		wantStats(t, c.Stats(), 0, int64(len(paths)), 0)
	})
}

func TestOpenScanCacheErrors(t *testing.T) {
	if _, err := OpenScanCache(""); err == nil {
		t.Error("OpenScanCache accepted no directory")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenScanCache(f)
	if err == nil || !strings.Contains(err.Error(), f) {
		t.Errorf("OpenScanCache over a file: %v", err)
	}
	var c *ScanCache
	if _, err := c.Scan(context.Background(), nil, ScanOptions{}); err != nil {
		t.Errorf("nil cache: %v", err)
	}
}

func TestScanCacheKeyring(t *testing.T) {
	good, wrong := rpmfixture.SigningKeys(t)
	src := t.TempDir()
	unsigned := []string{
		rpmfixture.PackRPM(t, src, rpmpack.RPMMetaData{Name: "cache-one", Summary: "one", Licence: "MIT", Epoch: rpmpack.NoEpoch}, map[string][]byte{"/usr/share/one/a": []byte("a")}),
		rpmfixture.PackRPM(t, src, rpmpack.RPMMetaData{Name: "cache-two", Summary: "two", Licence: "MIT", Epoch: 3, Compressor: "zstd"}, map[string][]byte{"/usr/bin/two": []byte("b")}),
	}
	signedDir := t.TempDir()
	var signed []string
	for _, u := range unsigned {
		p := filepath.Join(signedDir, filepath.Base(u))
		rpmfixture.SignRPM(t, u, p, good)
		signed = append(signed, p)
	}
	goodID := strings.ToLower(good.PrimaryKey.KeyIdString())
	// The same key with its public part changed (one more direct
	// signature): entries verified by the old one are not trusted.
	changed := *good
	for _, id := range good.Identities {
		changed.Signatures = append(slices.Clone(good.Signatures), id.SelfSignature)
	}

	t.Run("signed", func(t *testing.T) {
		cdir := t.TempDir()
		steps := []struct {
			name         string
			keyring      openpgp.EntityList
			hits, misses int64
			signer       string
			wantErr      string
		}{
			{"first read", openpgp.EntityList{good}, 0, 2, goodID, ""},
			{"same keyring", openpgp.EntityList{good}, 2, 0, goodID, ""},
			{"key among others", openpgp.EntityList{wrong, good}, 2, 0, goodID, ""},
			{"no keyring", nil, 2, 0, "", ""},
			{"wrong key", openpgp.EntityList{wrong}, 0, 2, "", "not among the trusted keys"},
			{"changed key", openpgp.EntityList{&changed}, 0, 2, goodID, ""},
		}
		for _, s := range steps {
			c := openCache(t, cdir)
			pkgs, err := c.Scan(context.Background(), signed, ScanOptions{Keyring: s.keyring})
			st := c.Stats()
			if st.Hits != s.hits || st.Misses != s.misses {
				t.Errorf("%s: %+v, want %d hits %d misses", s.name, st, s.hits, s.misses)
			}
			if s.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), s.wantErr) {
					t.Errorf("%s: error %v, want %q", s.name, err, s.wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			for _, p := range pkgs {
				if p.SignerKeyID != s.signer {
					t.Errorf("%s: %s signer %q, want %q", s.name, p.Name, p.SignerKeyID, s.signer)
				}
				if len(p.Signatures) == 0 {
					t.Errorf("%s: %s lists no signatures", s.name, p.Name)
				}
				for _, sig := range p.Signatures {
					if sig.Verified != (s.keyring != nil) {
						t.Errorf("%s: %s %s verified %v with keyring %v", s.name, p.Name, sig.Tag, sig.Verified, s.keyring != nil)
					}
				}
			}
		}
	})
	t.Run("V3 signatures", func(t *testing.T) {
		rsaK, _, _, stranger := rpmfixture.V3Keys(t)
		dir := t.TempDir()
		var v3 []string
		for _, u := range unsigned {
			p := filepath.Join(dir, filepath.Base(u))
			rpmfixture.V3Sign(t, u, p, rpmfixture.SigSpec{Key: rsaK, Hash: crypto.SHA256, Header: true, Full: true})
			v3 = append(v3, p)
		}
		cdir := t.TempDir()
		for _, step := range []struct {
			name         string
			keyring      openpgp.EntityList
			hits, misses int64
		}{
			{"first read", openpgp.EntityList{rsaK.Entity}, 0, 2},
			{"cached", openpgp.EntityList{stranger.Entity, rsaK.Entity}, 2, 0},
		} {
			c := openCache(t, cdir)
			pkgs, err := c.Scan(context.Background(), v3, ScanOptions{Keyring: step.keyring})
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if st := c.Stats(); st.Hits != step.hits || st.Misses != step.misses {
				t.Errorf("%s: %+v, want %d hits %d misses", step.name, st, step.hits, step.misses)
			}
			for _, p := range pkgs {
				if p.SignerKeyID != fmt.Sprintf("%016x", rsaK.KeyID) {
					t.Errorf("%s: signer %q", step.name, p.SignerKeyID)
				}
			}
		}
		c := openCache(t, cdir)
		if _, err := c.Scan(context.Background(), v3, ScanOptions{Keyring: openpgp.EntityList{stranger.Entity}}); err == nil {
			t.Error("a cached V3 entry satisfied a keyring without its key")
		}
	})
	t.Run("unsigned entry does not satisfy a keyring", func(t *testing.T) {
		cdir := t.TempDir()
		_, st := cachedScan(t, cdir, unsigned, ScanOptions{})
		wantStats(t, st, 0, 2, 2)
		c := openCache(t, cdir)
		_, err := c.Scan(context.Background(), unsigned, ScanOptions{Keyring: openpgp.EntityList{good}})
		if err == nil || !strings.Contains(err.Error(), "not signed") {
			t.Errorf("error %v, want not signed", err)
		}
		wantStats(t, c.Stats(), 0, 2, 0)
	})
	t.Run("entry read without keyring is upgraded", func(t *testing.T) {
		cdir := t.TempDir()
		cachedScan(t, cdir, signed, ScanOptions{})
		_, st := cachedScan(t, cdir, signed, ScanOptions{Keyring: openpgp.EntityList{good}})
		wantStats(t, st, 0, 2, 2)
		pkgs, st := cachedScan(t, cdir, signed, ScanOptions{Keyring: openpgp.EntityList{good}})
		wantStats(t, st, 2, 0, 0)
		if pkgs[0].SignerKeyID != goodID {
			t.Errorf("signer %q", pkgs[0].SignerKeyID)
		}
	})
}

func TestScanCacheSkipsSmallFiles(t *testing.T) {
	_, paths := cacheCorpus(t)
	c, err := OpenScanCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.MinSize = 1 << 40
	for i := 0; i < 2; i++ {
		if _, err := c.Scan(context.Background(), paths, ScanOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Hits != 0 || st.Stored != 0 {
		t.Fatalf("files under MinSize were cached: %+v", st)
	}
}
