package osfs

import (
	"io/fs"
	"os"
	"time"
)

// FileID identifies a file on one machine while it exists.
type FileID struct{ Dev, Ino uint64 }

// ID returns the identity of the file fi describes, when the system
// provides one.
func ID(fi fs.FileInfo) (FileID, bool) { return fileID(fi) }

// ChangeTime is the inode change time: it moves whenever the file is
// written, renamed over or has its mtime reset. Where the system has none it
// is the modification time.
func ChangeTime(fi fs.FileInfo) time.Time {
	if t, ok := changeTime(fi); ok {
		return t
	}
	return fi.ModTime()
}

// FreeBytes returns the bytes an unprivileged user may still write on the
// file system holding dir.
func FreeBytes(dir string) (int64, error) { return freeBytes(dir) }

// Clone makes dst, which must be a new, empty file, share src's content
// (a reflink). It fails, leaving dst empty, where the file system cannot
// clone; errors.ErrUnsupported means the system has no such call.
func Clone(dst, src *os.File) error { return clone(dst, src) }

// StartWriteback asks the system to start writing the n bytes of f at off
// to disk, without waiting for them: a later f.Sync then has less left to
// flush. It is a hint; systems without one (everywhere but Linux) ignore
// it, and so does this function on failure.
func StartWriteback(f *os.File, off, n int64) { startWriteback(f, off, n) }

// SetDirect turns direct I/O (O_DIRECT: writes go from the caller's memory
// to the device, bypassing the page cache) on or off for f. Direct writes
// must start at offsets, come from memory and have lengths aligned to the
// device's logical block size (DirectAlign is enough everywhere Linux
// runs). Where the system or the file system has none it returns an
// error (errors.ErrUnsupported outside Linux).
func SetDirect(f *os.File, on bool) error { return setDirect(f, on) }

// DirectAlign is the alignment SetDirect's writes keep.
const DirectAlign = 4096
