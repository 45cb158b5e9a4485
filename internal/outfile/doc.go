// Package outfile writes a large output file (the bundle archive) in one
// pass the way a build needs it: Write only copies the bytes into chunks of
// 4 MiB; each full chunk is hashed (SHA-256) on a goroutine of its own and
// then written on another, so the hashing, the writes and the caller's work
// overlap; the bytes go to the disk as they are written: with direct I/O
// where the file system has it (no copy into the page cache), else through
// the page cache with their writeback started every 8 MiB
// (osfs.StartWriteback); either way the closing fsync has little left to
// wait for.
package outfile
