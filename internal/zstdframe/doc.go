// Package zstdframe writes a zstd stream as a sequence of independent
// frames of a fixed size of input, compressed in parallel and written in
// order. Each frame is encoded by a single-threaded encoder from its own
// bytes alone, so the output depends only on the input and the frame size,
// never on the number of workers or GOMAXPROCS. Concatenated frames are one
// valid zstd stream: `zstd -d`, `tar --zstd` and any zstd library read it.
// A frame whose samples do not compress is encoded at the fastest level
// (its blocks are stored raw either way), so incompressible data such as
// RPM payloads costs little more than a copy.
package zstdframe
