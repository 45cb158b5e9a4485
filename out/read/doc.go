// Package read reads built bundles, a bundle directory or an archive
// (.tar.zst, .tar.gz, .tar) streamed once per call: Verify checks every file
// against bundle.json, SHA256SUMS, the SBOM and the signature; Inspect
// summarizes a bundle; Diff compares two; Extract unpacks an archive
// safely. Archive entries are checked before they are read (links, absolute
// paths, "..", entries bundle.json does not list or sizes it contradicts are
// refused). It never writes a bundle; the builder is package out.
package read
