package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/google/rpmpack"

	"github.com/bdebundle/bundle/internal/cachedir"
	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// entryFor reads the entry the cache at cdir holds for the file at p,
// without authenticating it (as anyone who can read the file could).
func entryFor(t *testing.T, cdir, p string) (string, *scanEntry) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := scanKey(fi)
	ep := filepath.Join(cdir, "rpm", key)
	b, err := os.ReadFile(ep)
	if err != nil {
		t.Fatalf("no entry for %s: %v", p, err)
	}
	var e scanEntry
	if err := gob.NewDecoder(bytes.NewReader(b[len(entryMagic)+32:])).Decode(&e); err != nil {
		t.Fatal(err)
	}
	return ep, &e
}

// TestScanCacheForgedEntry: with an unsigned package in place of a signed
// one and an entry made for it by someone without the cache's key (the
// signed package's entry moved to the new file's key with the new file's
// change time, behind an unkeyed checksum as the cache used to take, or a
// tag under another cache's key), a scan that requires a trusted signature
// reads the file and refuses it: the forged entry is not believed.
func TestScanCacheForgedEntry(t *testing.T) {
	good, _ := rpmfixture.SigningKeys(t)
	src := t.TempDir()
	unsigned := rpmfixture.PackRPM(t, src, rpmpack.RPMMetaData{Name: "forged", Summary: "one", Licence: "MIT", Epoch: rpmpack.NoEpoch}, map[string][]byte{"/usr/share/forged/a": []byte("a")})
	dir := t.TempDir()
	target := filepath.Join(dir, "forged.rpm")
	rpmfixture.SignRPM(t, unsigned, target, good)
	keyring := openpgp.EntityList{good}
	other, err := cachedir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tag  func(body []byte) []byte
	}{
		{"unkeyed sha256", func(body []byte) []byte { s := sha256.Sum256(body); return s[:] }},
		{"another cache's key", func(body []byte) []byte { return other.Seal(scanEntryDomain, body) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cdir := t.TempDir()
			if err := os.Remove(target); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			rpmfixture.SignRPM(t, unsigned, target, good)
			cachedScan(t, cdir, []string{target}, ScanOptions{Keyring: keyring})
			oldEntry, e := entryFor(t, cdir, target)
			// The swap: the unsigned package in place of the signed one.
			b, err := os.ReadFile(unsigned)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, b, 0o644); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			key, _ := scanKey(fi)
			e.Key, e.Ctime, e.Package.Size = key, osfs.ChangeTime(fi).UnixNano(), fi.Size()
			var body bytes.Buffer
			if err := gob.NewEncoder(&body).Encode(e); err != nil {
				t.Fatal(err)
			}
			forged := append(append([]byte(entryMagic), tc.tag(body.Bytes())...), body.Bytes()...)
			if err := os.WriteFile(filepath.Join(filepath.Dir(oldEntry), key), forged, 0o600); err != nil {
				t.Fatal(err)
			}
			c := openCache(t, cdir)
			_, err = c.Scan(context.Background(), []string{target}, ScanOptions{Keyring: keyring})
			if err == nil || !strings.Contains(err.Error(), "not signed") {
				t.Fatalf("the unsigned package behind a forged entry: %v (stats %+v)", err, c.Stats())
			}
			if st := c.Stats(); st.Hits != 0 {
				t.Errorf("stats %+v: the forged entry was used", st)
			}
		})
	}
}

// TestScanCacheHardLinks: a file reached through a hard link (a bundle's
// inputs are hard-linked, which moves their change time on every build)
// is a hit, after its lead and headers are read again; a file rewritten in
// place with its size and modification time kept and its header changed
// is read again and refused.
func TestScanCacheHardLinks(t *testing.T) {
	dir, paths := cacheCorpus(t)
	p := paths[0]
	cdir := t.TempDir()
	cachedScan(t, cdir, []string{p}, ScanOptions{Root: dir})
	for i, step := range []string{"through a new hard link", "through the first path, after the link", "again, change time recorded"} {
		var scanPath string
		switch i {
		case 0:
			scanPath = filepath.Join(dir, "linked.rpm")
			if err := os.Link(p, scanPath); err != nil {
				t.Fatal(err)
			}
		default:
			scanPath = p
		}
		pkgs, st := cachedScan(t, cdir, []string{scanPath}, ScanOptions{Root: dir})
		if st.Hits != 1 || st.Misses != 0 {
			t.Errorf("%s: stats %+v, want a hit", step, st)
		}
		if want, _ := location(dir, scanPath); pkgs[0].Location != want {
			t.Errorf("%s: location %q, want %q", step, pkgs[0].Location, want)
		}
	}

	// A changed header byte (the summary's first letter), size and
	// modification time restored.
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	h := rpmfixture.ViewHeader(b, rpmfixture.MainHeaderAt(b))
	i, ok := h.Find(1004 /* RPMTAG_SUMMARY */)
	if !ok {
		t.Fatal("no summary")
	}
	h.Dat[h.Field(i, 2)] ^= 0x20
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	c := openCache(t, cdir)
	_, err = c.Scan(context.Background(), []string{p}, ScanOptions{Root: dir})
	if err == nil || !strings.Contains(err.Error(), "header digest mismatch") {
		t.Fatalf("rewritten header: %v (stats %+v)", err, c.Stats())
	}
	if st := c.Stats(); st.Hits != 0 || st.Misses != 1 {
		t.Errorf("rewritten header: stats %+v, want one miss", st)
	}
}

// TestScanCacheRefusesSharedDirectory: a cache directory others can write
// is not used: OpenScanCache fails (the build then scans without a cache,
// after a warning).
func TestScanCacheRefusesSharedDirectory(t *testing.T) {
	d := t.TempDir()
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := OpenScanCache(d)
	if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("OpenScanCache of a mode 0777 directory: %v", err)
	}
}
