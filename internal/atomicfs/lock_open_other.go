//go:build !unix

package atomicfs

import (
	"errors"
	"io/fs"
	"os"
)

// openLockFile refuses a symbolic link at path, checked before opening
// where the open itself cannot refuse one.
func openLockFile(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, errors.New("it is a symbolic link; remove it")
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}
