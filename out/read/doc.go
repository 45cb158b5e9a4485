// Package read reads what the readers of built bundles share from a bundle
// directory or archive (.tar.zst, .tar.gz, .tar; walked as a stream through
// out/archive): Manifest parses bundle.json (an archive is read only as far
// as it), Files returns the small files asked for in one pass, Small reads a
// metadata file with its size bound, SBOM parses sbom.cdx.json, VolumeInfo
// names the bundle of an archive as a volume manifest does. It checks
// no hashes (package out/verify does), and never writes.
package read
