// Package out holds no code: its packages are the bundle format and what
// writes, reads and deploys it, one job each. The format: out/manifest
// (bundle.json, the layout's directory names, digests and paths; a pure
// leaf) and out/archive (the archive format, both ways). The builder:
// out/builder (a checked Plan into a bundle directory and archive,
// atomically). The readers: out/read (bundle.json and small files of a
// directory or archive), out/verify (verify, extract), out/inspect and
// out/diff. The deployers: out/vcenter, out/bde, out/clusters (with out/site, the contract of the deploy steps).
package out
