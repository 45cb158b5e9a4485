// Package outfile writes a large output file (the bundle archive) in one
// pass the way a build needs it: its SHA-256 is computed from the bytes as
// they are written, on a goroutine of its own so the hashing overlaps the
// writes, and the bytes go to the disk as they are written: with direct I/O
// in aligned 4 MiB chunks where the file system has it (no copy into the
// page cache), else through the page cache with their writeback started
// every 8 MiB (osfs.StartWriteback); either way the closing fsync has
// little left to wait for.
package outfile
