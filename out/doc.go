// Package out executes a compiler Plan: it writes the bundle directory and
// its archive atomically and reproducibly (placing inputs, calling the
// repo, image and template writers, writing bundle.json, SHA256SUMS, the
// SBOM and the provenance). The bundle.json schema is package out/manifest,
// the archive format out/archive; reading built bundles is out/read,
// out/verify (verify, extract), out/inspect and out/diff; deploying one is
// out/vcenter.
package out
