// Package out holds no code: its packages are the bundle format and what
// writes, reads, carries and deploys it, one job each.
//
//   - The format: out/manifest (bundle.json, the layout's directory names,
//     digests and paths; a pure leaf) and out/archive (the archive format,
//     both ways).
//   - The builder: out/builder (a checked Plan into a bundle directory and
//     archive, atomically).
//   - The readers: out/read (bundle.json and small files of a directory or
//     archive), out/verify (verify, extract), out/inspect and out/diff.
//   - Across the air gap: out/volume (volumes for removable media) and
//     out/delta (delta bundles against a base release).
//   - The deployers: out/vcenter (files, templates and the deploy state),
//     and the site steps under the contract of out/site: out/clusters
//     (through out/bde), out/marathon (apps) and out/chronos (jobs).
package out
