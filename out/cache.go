package out

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/cachedir"
	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/out/manifest"
)

// hashCache maps (absolute path, size, mtime, device, inode) of an input to
// its sha256, so an unchanged input is not read again on a rebuild. Like
// make, rsync and Go's build cache it trusts the mtime: an input rewritten
// in place to the same size with its mtime set back is not read again
// (ctime would catch that, but hard-linking the input into the bundle
// changes it on every build). Each entry is a small file named by the sha256 of its key, holding
// the digest and a tag over key and digest: an entry that was edited,
// truncated or moved under another key is ignored. Writes go through a temp
// file and a rename, so concurrent builds can share the cache.
type hashCache struct{ dir string }

// cacheDir resolves the cache directory: opts, $BUNDLE_CACHE_DIR,
// $XDG_CACHE_HOME/bundle, ~/.cache/bundle. "" means no cache.
func cacheDir(opt string) string { return cachedir.Dir(opt) }

func newHashCache(dir string) *hashCache {
	if dir == "" {
		return nil
	}
	return &hashCache{dir: filepath.Join(dir, "sha256")}
}

func cacheKey(abs string, fi os.FileInfo) (string, bool) {
	id, ok := osfs.ID(fi)
	if !ok {
		return "", false // no inode (Windows): no cache
	}
	k := fmt.Sprintf("v2\x00%s\x00%d\x00%d\x00%d\x00%d", abs, fi.Size(), fi.ModTime().UnixNano(), id.Dev, id.Ino)
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:]), true
}

func (c *hashCache) path(key string) string { return filepath.Join(c.dir, key[:2], key[2:]) }

// get returns the cached digest of the file described by fi, if any.
func (c *hashCache) get(abs string, fi os.FileInfo) (string, bool) {
	if c == nil {
		return "", false
	}
	key, ok := cacheKey(abs, fi)
	if !ok {
		return "", false
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return "", false
	}
	d, tag, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	if !ok || !manifest.IsSHA256(d) || tag != entryTag(key, d) {
		return "", false
	}
	return d, true
}

// entryTag binds a cached digest to its key.
func entryTag(key, digest string) string {
	sum := sha256.Sum256([]byte("bundle hash cache\x00" + key + "\x00" + digest))
	return hex.EncodeToString(sum[:16])
}

// put records digest for the file described by fi. Failures are ignored:
// the cache only saves time.
func (c *hashCache) put(abs string, fi os.FileInfo, digest string) {
	if c == nil {
		return
	}
	key, ok := cacheKey(abs, fi)
	if !ok {
		return
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.WriteString(digest + " " + entryTag(key, digest) + "\n")
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), p) != nil {
		_ = os.Remove(f.Name())
	}
}
