// Package cachedir resolves the directory bundle keeps its caches in and
// opens it (Open): refused unless only its owner, the user running bundle,
// can write it; entries authenticated with a random key kept there; old
// entries pruned.
package cachedir

import (
	"os"
	"path/filepath"
)

// Dir resolves the cache directory: opt when set, else $BUNDLE_CACHE_DIR,
// else $XDG_CACHE_HOME/bundle (when absolute), else ~/.cache/bundle.
// "" means there is no usable cache directory.
func Dir(opt string) string {
	if opt != "" {
		return opt
	}
	if d := os.Getenv("BUNDLE_CACHE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "bundle")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".cache", "bundle")
	}
	return ""
}
