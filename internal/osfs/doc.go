// Package osfs answers what package os leaves to each operating system:
// a file's identity (device and inode) and change time, the free space
// below a directory, copy-on-write clones (reflinks), starting a file's
// writeback early (sync_file_range) and direct I/O (O_DIRECT). Each has a
// Linux implementation and a portable fallback chosen by build tags:
// where the system cannot answer, ID reports false, ChangeTime is the
// modification time, FreeBytes returns errors.ErrUnsupported and Clone
// returns errors.ErrUnsupported so the caller copies, StartWriteback
// does nothing and SetDirect returns errors.ErrUnsupported.
package osfs
