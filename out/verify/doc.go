// Package verify checks a built bundle, a directory or an archive (read as
// a stream through out/archive, never extracted): Verify checks every file
// against bundle.json (size, sha256, mode, nothing missing or extra),
// SHA256SUMS, the SBOM and the signature, and on a directory runs the deep
// checks it is given (repodata, image layout, OVF); Extract unpacks an
// archive and verifies it in the same pass, leaving nothing behind when it
// does not verify. A volume set (out/volume) is read as its archive: its
// manifest's signature is checked with the key, every volume must be there
// before a byte is read, each is checked as it passes, and the set must name
// the bundle it holds; a fault is a problem naming the volume. Problems are
// collected in a Report.
package verify
