//go:build !linux && !darwin

package atomicfs

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
)

func exchange(src, dst string) error { return errors.ErrUnsupported }

func renameNoReplace(src, dst string) error { return errors.ErrUnsupported }

func syncTree(dir string) error {
	return syncWalk(dir, func(p string, d fs.DirEntry) (*os.File, error) {
		if d.IsDir() {
			if runtime.GOOS == "windows" {
				return nil, nil // Windows cannot flush a directory handle
			}
			return os.Open(p)
		}
		// Windows flushes only handles open for writing.
		return os.OpenFile(p, os.O_RDWR, 0)
	})
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	_ = f.Sync() // not every system can flush a directory
	return nil
}
