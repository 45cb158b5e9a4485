package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/cachedir"
	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
)

// hashCache maps (size, mtime, device, inode) of an input to its sha256,
// so an unchanged input is not read again on a rebuild, whatever path
// reaches it (a hard link finds the same entry). Like make, rsync and Go's
// build cache it trusts the mtime: an input rewritten in place to the same
// size with its mtime set back is not read again (ctime would catch that,
// but hard-linking the input into the bundle changes it on every build);
// what is recorded is then the old digest, which verify refuses. Each
// entry is a small file named by the sha256 of its key, holding the digest
// and a tag over key and digest under the cache directory's secret key
// (internal/cachedir: a directory only its owner can write, else no cache):
// an entry that was edited, truncated, moved under another key or written
// by anyone without the key is ignored. Writes go through a temp file and
// a rename, so concurrent builds can share the cache; entries unused for
// cachedir.MaxAge are pruned, at most once a day.
type hashCache struct {
	dir   string
	store *cachedir.Store
}

// cacheDir resolves the cache directory: opts, $BUNDLE_CACHE_DIR,
// $XDG_CACHE_HOME/bundle, ~/.cache/bundle. "" means no cache.
func cacheDir(opt string) string { return cachedir.Dir(opt) }

// newHashCache opens the hash cache under dir; nil (no cache, after a
// warning) when cachedir refuses the directory.
func newHashCache(dir string) *hashCache {
	if dir == "" {
		return nil
	}
	st, err := cachedir.Open(dir)
	if err == nil {
		var d string
		if d, err = st.Sub("sha256"); err == nil {
			cachedir.Prune(d)
			return &hashCache{dir: d, store: st}
		}
	}
	if errors.Is(err, cachedir.ErrNotPrivate) {
		slog.Warn("hash cache not used", "err", err)
	} else {
		slog.Debug("hash cache disabled", "err", err)
	}
	return nil
}

func cacheKey(fi os.FileInfo) (string, bool) {
	id, ok := osfs.ID(fi)
	if !ok {
		return "", false // no inode (Windows): no cache
	}
	k := fmt.Sprintf("v3\x00%d\x00%d\x00%d\x00%d", fi.Size(), fi.ModTime().UnixNano(), id.Dev, id.Ino)
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:]), true
}

func (c *hashCache) path(key string) string { return filepath.Join(c.dir, key[:2], key[2:]) }

// get returns the cached digest of the file described by fi, if any.
func (c *hashCache) get(abs string, fi os.FileInfo) (string, bool) {
	if c == nil {
		return "", false
	}
	key, ok := cacheKey(fi)
	if !ok {
		slog.Debug("hash cache miss", "path", abs, "reason", "no inode number on this system")
		return "", false
	}
	p := c.path(key)
	b, err := regular.ReadFile(p, 4096)
	if err != nil {
		reason := "no entry for this size, mtime and inode"
		if !errors.Is(err, os.ErrNotExist) {
			reason = "entry unreadable: " + err.Error()
		}
		slog.Debug("hash cache miss", "path", abs, "reason", reason)
		return "", false
	}
	d, tag, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	if !ok || !manifest.IsSHA256(d) || tag != c.entryTag(key, d) {
		slog.Debug("hash cache miss", "path", abs, "reason", "entry malformed or its tag does not match")
		return "", false
	}
	efi, _ := os.Stat(p)
	cachedir.Touch(p, efi)
	slog.Debug("hash cache hit", "path", abs, "reason", "size, mtime and inode unchanged")
	return d, true
}

// entryTag binds a cached digest to its key, under the cache's key.
func (c *hashCache) entryTag(key, digest string) string {
	return hex.EncodeToString(c.store.Seal("sha256", []byte(key+"\x00"+digest)))
}

// put records digest for the file described by fi. Failures are ignored:
// the cache only saves time.
func (c *hashCache) put(abs string, fi os.FileInfo, digest string) {
	if c == nil {
		return
	}
	key, ok := cacheKey(fi)
	if !ok {
		return
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.WriteString(digest + " " + c.entryTag(key, digest) + "\n")
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), p) != nil {
		_ = os.Remove(f.Name())
	}
}
