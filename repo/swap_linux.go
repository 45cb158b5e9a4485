package repo

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// swapDir puts the directory src in place of dst atomically: with
// RENAME_EXCHANGE when dst exists, so readers see either the old or the new
// directory, never none; the old one is then removed.
func swapDir(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	if err == nil {
		return os.RemoveAll(src)
	}
	if errors.Is(err, unix.ENOENT) {
		return os.Rename(src, dst)
	}
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) {
		return swapDirPortable(src, dst)
	}
	return err
}
