package out

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bdebundle/bundle/internal/cachedir"
)

// hashCache maps (absolute path, size, mtime, device, inode) of an input to
// its sha256, so an unchanged input is not read again on a rebuild. Each
// entry is a small file named by the sha256 of its key; writes go through a
// temp file and a rename, so concurrent builds can share the cache.
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
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	k := fmt.Sprintf("v1\x00%s\x00%d\x00%d\x00%d\x00%d", abs, fi.Size(), fi.ModTime().UnixNano(), uint64(st.Dev), uint64(st.Ino))
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
	d := strings.TrimSpace(string(b))
	if !isSHA256(d) {
		return "", false
	}
	return d, true
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
	_, werr := f.WriteString(digest + "\n")
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), p) != nil {
		_ = os.Remove(f.Name())
	}
}
