// Package zstdframe writes a zstd stream as a sequence of independent
// frames of a fixed size of input, compressed in parallel and written in
// order. Each frame is encoded by a single-threaded encoder from its own
// bytes alone, so the output depends only on the input and the frame size,
// never on the number of workers or GOMAXPROCS. Concatenated frames are one
// valid zstd stream: `zstd -d`, `tar --zstd` and any zstd library read it.
// A frame whose samples do not compress is written without a match search:
// its runs of 64 KiB blocks that look incompressible (RPM payloads) are
// stored as raw blocks, exactly the bytes zstd's fastest level would write
// for them, and runs that look compressible (an RPM's headers) are encoded
// at the fastest level; such data costs little more than a copy and its
// checksum.
package zstdframe
