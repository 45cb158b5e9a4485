//go:build unix

package atomicfs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openLockFile opens without following a symbolic link (O_NOFOLLOW) and
// without blocking on a FIFO (O_NONBLOCK).
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o644)
	if errors.Is(err, unix.ELOOP) {
		return nil, errors.New("it is a symbolic link; remove it")
	}
	return f, err
}

func lockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

func unlockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
