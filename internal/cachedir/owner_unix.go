//go:build unix

package cachedir

import (
	"fmt"
	"os"
	"syscall"
)

const noFollow = syscall.O_NOFOLLOW

// checkOwned refuses p unless the user running bundle owns it and neither
// group nor others can write it (nor, for a file, read it).
func checkOwned(p string, dir bool) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if dir && fi.Mode()&os.ModeSymlink != 0 {
		if fi, err = os.Stat(p); err != nil {
			return err
		}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot tell its owner")
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("owned by uid %d, not by this user (uid %d)", st.Uid, uid)
	}
	perm := fi.Mode().Perm()
	if dir && perm&0o022 != 0 {
		return fmt.Errorf("writable by group or others (mode %04o)", perm)
	}
	if !dir && perm&0o077 != 0 {
		return fmt.Errorf("readable or writable by group or others (mode %04o)", perm)
	}
	return nil
}
