// Package read reads built bundles, a bundle directory or an archive
// (.tar.zst, .tar.gz, .tar; read as a stream through out/archive): Verify
// checks every file against bundle.json, SHA256SUMS, the SBOM and the
// signature; Manifest and Inspect read bundle.json; Diff compares two
// bundles; Extract unpacks an archive and verifies it in the same pass. It
// never writes a bundle: the builder is package out, the schema package
// out/manifest, the archive format out/archive.
package read
