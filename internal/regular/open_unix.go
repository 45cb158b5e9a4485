//go:build unix

package regular

import (
	"os"

	"golang.org/x/sys/unix"
)

// openNonBlocking opens with O_NONBLOCK, so opening a FIFO without a writer
// returns at once instead of waiting.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
}

// clearNonBlocking makes reads of the (regular) file blocking again.
func clearNonBlocking(f *os.File) error {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, flags&^unix.O_NONBLOCK)
	return err
}
