// Package outfile writes a large output file (the bundle archive) in one
// pass the way a build needs it: its SHA-256 is computed from the bytes as
// they are written, on a goroutine of its own so the hashing overlaps the
// write system calls, and the bytes are handed to the disk as they are
// written (osfs.StartWriteback), so the closing fsync has little left to
// wait for.
package outfile
