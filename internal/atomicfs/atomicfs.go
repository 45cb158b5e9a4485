package atomicfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/regular"
)

// ErrLocked is returned by Lock when another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// WriteFile writes data to path with mode perm (whatever the umask), via a
// flushed temporary file renamed over path.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write is WriteFile for content produced by fill, which writes through a
// buffer to the temporary file. When fill fails, path is left untouched.
func Write(path string, perm fs.FileMode, fill func(w io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<16)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return SyncDir(dir)
}

// AsidePrefix is how the previous directory at dst is named while it is set
// aside by the fallback of Exchange: a hidden sibling of dst.
func AsidePrefix(dst string) string { return "." + filepath.Base(dst) + ".old-" }

// ReplaceDir puts the directory src in place of dst and removes the
// previous dst, if there was one.
func ReplaceDir(src, dst string) error {
	if err := Exchange(src, dst); err != nil {
		return err
	}
	if err := os.RemoveAll(src); err != nil {
		return fmt.Errorf("removing previous %q: %w", dst, err)
	}
	return nil
}

// Exchange puts the directory src in place of dst. When dst existed the
// previous directory is left at src for the caller to remove; otherwise src
// no longer exists.
func Exchange(src, dst string) error {
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("renaming %q into place: %w", dst, err)
		}
		return nil
	} else if err != nil {
		return fmt.Errorf("replacing %q: %w", dst, err)
	}
	switch err := exchange(src, dst); {
	case err == nil:
		return nil
	case !errors.Is(err, errors.ErrUnsupported):
		return fmt.Errorf("swapping %q into place: %w", dst, err)
	}
	return exchangeAside(src, dst)
}

// exchangeAside is Exchange with three renames: dst aside, src to dst, the
// set-aside directory to src.
func exchangeAside(src, dst string) error {
	aside, err := os.MkdirTemp(filepath.Dir(dst), AsidePrefix(dst))
	if err != nil {
		return fmt.Errorf("replacing %q: %w", dst, err)
	}
	if err := os.Remove(aside); err != nil {
		return fmt.Errorf("replacing %q: %w", dst, err)
	}
	if err := os.Rename(dst, aside); err != nil {
		return fmt.Errorf("moving previous %q aside: %w", dst, err)
	}
	if err := os.Rename(src, dst); err != nil {
		if rerr := os.Rename(aside, dst); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restoring %q: %w", dst, rerr))
		}
		return fmt.Errorf("renaming %q into place: %w", dst, err)
	}
	if err := os.Rename(aside, src); err != nil {
		return fmt.Errorf("moving previous %q to %q: %w", dst, src, err)
	}
	return nil
}

// Recover repairs what a process killed inside Exchange left beside dst:
// when dst is missing, a set-aside previous directory is put back; any
// other set-aside directories are removed.
func Recover(dst string) error {
	dir := filepath.Dir(dst)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %q: %w", dir, err)
	}
	_, statErr := os.Lstat(dst)
	missing := errors.Is(statErr, fs.ErrNotExist)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), AsidePrefix(dst)) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if missing {
			if err := os.Rename(p, dst); err != nil {
				return fmt.Errorf("restoring previous %q from %q: %w", dst, p, err)
			}
			missing = false
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("removing leftover %q: %w", p, err)
		}
	}
	return nil
}

// RenameNoReplace renames src to dst, failing with an error that matches
// fs.ErrExist when dst exists. Where the system cannot refuse atomically,
// dst is checked first.
func RenameNoReplace(src, dst string) error {
	err := renameNoReplace(src, dst)
	if errors.Is(err, errors.ErrUnsupported) {
		if _, lerr := os.Lstat(dst); lerr == nil {
			err = fs.ErrExist
		} else {
			err = os.Rename(src, dst)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return &fs.PathError{Op: "rename", Path: dst, Err: fs.ErrExist}
	}
	return fmt.Errorf("renaming into %q: %w", dst, err)
}

// SyncTree flushes every file written below dir to disk (syncfs on Linux;
// elsewhere each file and directory is flushed in turn).
func SyncTree(dir string) error {
	if err := syncTree(dir); err != nil {
		return fmt.Errorf("flushing %q: %w", dir, err)
	}
	return nil
}

// SyncDir flushes dir's entries, after a rename into it. Systems that
// cannot flush a directory are not an error.
func SyncDir(dir string) error {
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("flushing %q: %w", dir, err)
	}
	return nil
}

// Lock takes an exclusive lock on the file at path, creating it, without
// waiting: when another process holds it the error matches ErrLocked. The
// lock file is never followed through a symbolic link and must be a
// regular file. The lock lasts until unlock is called or the process exits.
func Lock(path string) (unlock func(), err error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("locking %q: %w", path, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("it is a %s, not a regular file; remove it", regular.Kind(fi.Mode()))
		}
		return nil, fmt.Errorf("locking %q: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %q: %w", path, err)
	}
	return func() { _ = unlockFile(f); f.Close() }, nil
}

// syncWalk flushes each regular file and directory below dir: the
// fallback where the system has no syncfs.
func syncWalk(dir string, open func(string, fs.DirEntry) (*os.File, error)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		f, err := open(p, d)
		if err != nil || f == nil {
			return err
		}
		serr := f.Sync()
		if d.IsDir() {
			serr = nil // not every system can flush a directory
		}
		return errors.Join(serr, f.Close())
	})
}
