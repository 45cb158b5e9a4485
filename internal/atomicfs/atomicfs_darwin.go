package atomicfs

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

func unsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOTSUP)
}

func exchange(src, dst string) error {
	err := unix.RenamexNp(src, dst, unix.RENAME_SWAP)
	if err != nil && unsupported(err) {
		return errors.ErrUnsupported
	}
	return err
}

func renameNoReplace(src, dst string) error {
	err := unix.RenamexNp(src, dst, unix.RENAME_EXCL)
	switch {
	case errors.Is(err, unix.EEXIST):
		return os.ErrExist
	case err != nil && unsupported(err):
		return errors.ErrUnsupported
	}
	return err
}

func syncTree(dir string) error {
	return syncWalk(dir, func(p string, _ fs.DirEntry) (*os.File, error) { return os.Open(p) })
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !unsupported(err) {
		return err
	}
	return nil
}
