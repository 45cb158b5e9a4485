package out

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/regular"
	"golang.org/x/sys/unix"
)

// lockBundle takes an exclusive lock on outDir/.<dir>.lock so two builds of
// one bundle never clean up or swap each other's work.
func lockBundle(outDir, dir string) (func(), error) {
	p := filepath.Join(outDir, "."+dir+".lock")
	// Never through a symbolic link: O_NOFOLLOW, and only a regular file.
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o644)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("locking %q: it is a symbolic link; remove it", p)
		}
		return nil, fmt.Errorf("locking %q: %w", p, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("it is a %s, not a regular file; remove it", regular.Kind(fi.Mode()))
		}
		return nil, fmt.Errorf("locking %q: %w", p, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %q: another build of %s is running", p, dir)
		}
		return nil, fmt.Errorf("locking %q: %w", p, err)
	}
	return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// recoverLeftovers repairs what a killed build left in outDir: if the
// bundle dir is missing but a previous one was set aside, it is put back;
// staging dirs, set-aside dirs and temporary archives are removed.
func recoverLeftovers(outDir, dir string) error {
	ents, err := os.ReadDir(outDir)
	if err != nil {
		return fmt.Errorf("reading %q: %w", outDir, err)
	}
	dest := filepath.Join(outDir, dir)
	_, statErr := os.Lstat(dest)
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(outDir, name)
		switch {
		case strings.HasPrefix(name, "."+dir+".old-"):
			if errors.Is(statErr, fs.ErrNotExist) {
				if err := os.Rename(p, dest); err != nil {
					return fmt.Errorf("restoring previous bundle %q: %w", p, err)
				}
				statErr = nil
				continue
			}
			fallthrough
		case strings.HasPrefix(name, "."+dir+".staging-"):
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("removing leftover %q: %w", p, err)
			}
		case (strings.HasPrefix(name, "."+dir+".tar") || strings.HasPrefix(name, "."+dir+".intoto.json")) && strings.Contains(name, ".tmp-"):
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing leftover %q: %w", p, err)
			}
		}
	}
	return nil
}

// swapDir puts staging at dest. When dest exists the two are exchanged
// atomically (renameat2 RENAME_EXCHANGE), leaving the previous bundle at
// staging; where the file system cannot exchange, the previous bundle is
// renamed aside first, and recoverLeftovers restores it if the process
// dies between the two renames.
func swapDir(staging, dest string) error {
	if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(staging, dest); err != nil {
			return fmt.Errorf("renaming bundle into place: %w", err)
		}
		return nil
	}
	err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dest, unix.RENAME_EXCHANGE)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.ENOTSUP) {
		return fmt.Errorf("swapping bundle into place: %w", err)
	}
	aside, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".old-")
	if err != nil {
		return fmt.Errorf("swapping bundle into place: %w", err)
	}
	if err := os.Remove(aside); err != nil {
		return fmt.Errorf("swapping bundle into place: %w", err)
	}
	if err := os.Rename(dest, aside); err != nil {
		return fmt.Errorf("moving previous bundle aside: %w", err)
	}
	if err := os.Rename(staging, dest); err != nil {
		_ = os.Rename(aside, dest)
		return fmt.Errorf("renaming bundle into place: %w", err)
	}
	// Leave the previous bundle where the caller removes staging.
	return os.Rename(aside, staging)
}

// syncTree flushes the file system holding dir (syncfs), so every file
// written below it is on disk before the rename makes it visible.
func syncTree(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("flushing %q: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("flushing %q: %w", dir, err)
	}
	return nil
}

// syncDir flushes a directory's entries (after a rename).
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("flushing %q: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("flushing %q: %w", dir, err)
	}
	return nil
}
