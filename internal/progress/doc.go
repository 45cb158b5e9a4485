// Package progress is the seam through which long-running library work
// (hashing, copying, uploading) reports progress. Libraries never print; the
// CLI supplies a Reporter that draws bars on a TTY, prints plain lines in CI,
// or emits JSON events.
package progress
