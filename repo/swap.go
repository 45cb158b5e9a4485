package repo

import (
	"errors"
	"io/fs"
	"os"
)

// swapDirPortable replaces dst by src with two renames, restoring dst when
// the second one fails.
func swapDirPortable(src, dst string) error {
	old := src + ".old"
	if err := os.Rename(dst, old); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return os.Rename(src, dst)
		}
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		_ = os.Rename(old, dst)
		return err
	}
	return os.RemoveAll(old)
}
