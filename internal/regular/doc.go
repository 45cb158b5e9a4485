// Package regular opens and reads files that must be regular files: a FIFO,
// device, socket or directory given where a file is meant is refused up
// front (opened without blocking, then checked), and reads are bounded, so
// a bad path is an error naming it, never a hang or an unbounded read.
package regular
