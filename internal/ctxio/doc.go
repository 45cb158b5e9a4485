// Package ctxio holds the streaming reads shared by the packages that copy
// and hash large files: readers that stop when their context is done, and
// SHA-256 of a file, and a reader that counts what passes through it.
package ctxio
