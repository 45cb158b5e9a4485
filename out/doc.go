// Package out executes a compiler Plan into a bundle directory and archive
// (atomic, reproducible), and verifies, inspects and diffs bundles.
package out
