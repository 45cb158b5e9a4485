package cli

import (
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/udiff"
)

// unifiedDiff is `fmt -diff`'s patch of one file: a/PATH and b/PATH with
// PATH as given (an absolute path without its leading '/' and volume), so
// `git apply` and `patch -p1` take it from the directory PATH is relative
// to ("/" for an absolute one).
func unifiedDiff(name, a, b string) string {
	p := filepath.ToSlash(strings.TrimPrefix(name, filepath.VolumeName(name)))
	p = strings.TrimLeft(p, "/")
	return udiff.Unified("a/"+p, "b/"+p, a, b)
}
