package builder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/verify"
)

func TestHashCacheRefusesBadEntries(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "input.rpm")
	if err := os.WriteFile(in, []byte("the input"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.rpm")
	if err := os.WriteFile(other, []byte("another input"), 0o644); err != nil {
		t.Fatal(err)
	}
	stat := func(p string) os.FileInfo {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	good := strings.Repeat("ab", 32)
	entry := func(c *hashCache, p string) string {
		k, _ := cacheKey(stat(p))
		return c.path(k)
	}
	for _, tc := range []struct {
		name   string
		damage func(c *hashCache)
	}{
		{"digest replaced", func(c *hashCache) {
			p := entry(c, in)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(good), []byte(strings.Repeat("0", 64)), 1), 0o644)
		}},
		{"old format, digest only", func(c *hashCache) { os.WriteFile(entry(c, in), []byte(good+"\n"), 0o644) }},
		{"truncated", func(c *hashCache) { os.WriteFile(entry(c, in), []byte(good[:20]), 0o644) }},
		{"empty", func(c *hashCache) { os.WriteFile(entry(c, in), nil, 0o644) }},
		{"another file's entry", func(c *hashCache) {
			c.put(other, stat(other), strings.Repeat("cd", 32))
			b, _ := os.ReadFile(entry(c, other))
			os.WriteFile(entry(c, in), b, 0o644)
		}},
		{"input rewritten", func(c *hashCache) {
			os.WriteFile(in, []byte("the INPUT"), 0o644) // same size, new mtime
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newHashCache(t.TempDir())
			c.put(in, stat(in), good)
			if d, ok := c.get(in, stat(in)); !ok || d != good {
				t.Fatalf("fresh entry: %q %v", d, ok)
			}
			time.Sleep(10 * time.Millisecond) // a later mtime for the rewrite case
			tc.damage(c)
			if d, ok := c.get(in, stat(in)); ok {
				t.Errorf("damaged entry trusted: %q", d)
			}
		})
	}
}

// TestBuildWithTamperedCache: a build whose cache entries were all replaced
// by well-formed wrong digests still writes a bundle that verifies.
func TestBuildWithTamperedCache(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1400000000, 0))
	plan := outtest.CompileSite(t, src)
	opts := testOptions(t)
	opts.NoHardLinks = true
	outDir := t.TempDir()
	if _, err := checkBuild(context.Background(), plan, outDir, opts); err != nil {
		t.Fatal(err)
	}
	var n int
	err := filepath.WalkDir(opts.CacheDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, tag, _ := strings.Cut(string(b), " ")
		return os.WriteFile(p, []byte(strings.Repeat("0", 64)+" "+tag), 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("tampering with %d cache entries: %v", n, err)
	}
	res, err := checkBuild(context.Background(), plan, outDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, res.Dir, verify.Options{})
}

// TestHashCacheTrust: an entry is found through any hard link to the
// input; one written by someone without the cache's key (the tag the cache
// used to take, unkeyed) is not believed; a cache directory others can
// write is not used at all.
func TestHashCacheTrust(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "input.rpm")
	if err := os.WriteFile(in, []byte("the input"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := strings.Repeat("ab", 32)
	c := newHashCache(t.TempDir())
	fi, _ := os.Stat(in)
	c.put(in, fi, good)
	link := filepath.Join(dir, "linked.rpm")
	if err := os.Link(in, link); err != nil {
		t.Fatal(err)
	}
	lfi, _ := os.Stat(link)
	if d, ok := c.get(link, lfi); !ok || d != good {
		t.Errorf("through a hard link: %q %v", d, ok)
	}

	other := filepath.Join(dir, "other.rpm")
	if err := os.WriteFile(other, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	ofi, _ := os.Stat(other)
	key, _ := cacheKey(ofi)
	forged := strings.Repeat("cd", 32)
	sum := sha256.Sum256([]byte("bundle hash cache\x00" + key + "\x00" + forged))
	if err := os.MkdirAll(filepath.Dir(c.path(key)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path(key), []byte(forged+" "+hex.EncodeToString(sum[:16])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, ok := c.get(other, ofi); ok {
		t.Errorf("forged entry believed: %q", d)
	}

	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if c := newHashCache(shared); c != nil {
		t.Error("a cache directory anyone can write was used")
	}
}
