// Package dualsha computes two SHA-256 digests of streams that share their
// tail — a file and its trailing part, such as an RPM and its payload — in
// one pass over the shared bytes. On amd64 with the SHA extensions the two
// compressions run interleaved on one core, at well under the cost of two;
// elsewhere each stream goes through crypto/sha256, the two on separate
// goroutines for large writes.
package dualsha
