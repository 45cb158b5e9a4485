// Package diff compares two built bundles (directories or archives):
// Compare returns release notes keyed as BDE and Marathon key things
// (packages by repo directory, distro entries, clusters and node groups,
// apps, templates, image digests), the SBOM's changes and the rendered
// configuration files that changed as unified diffs (sensitive files only
// named). It reads bundles through out/read and checks no hashes.
package diff
