// Package builder executes a checked compiler Plan: Check refuses a plan
// that would write outside the bundle or twice to one path and returns it
// as Checked, the one value Build takes, so a plan is checked once. Build
// runs the build steps (build.go) into a staging directory: it places the
// inputs (place.go: hard links, reflinks or copies, with their digests from
// the hash cache or the caller's scan), writes the rendered files and calls
// the repo, image and template writers (write.go), maps the plan to
// bundle.json, SHA256SUMS and the signature (manifest.go), writes the SBOM
// (sbom.go), the archive (archive.go, in the format of out/archive) and the
// provenance (provenance.go), then swaps the directory and the archive in
// atomically (atomic.go, guard.go). The bundle.json schema is package
// out/manifest; reading built bundles is out/read, out/verify, out/inspect
// and out/diff; deploying one is out/vcenter.
package builder
