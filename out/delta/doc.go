// Package delta writes, verifies and merges delta bundles: a new release
// carried across the air gap as only what the site's base release lacks.
//
// A delta is a directory <name>-<version>.delta/ holding delta.json, the
// new release's full bundle.json (with SHA256SUMS and bundle.json.sig when
// signed) and, under their bundle paths, only the files whose content
// (sha256) no file of the base has: a file is matched by its digest,
// never by its name or tag, so a renamed RPM or a re-tagged image blob is
// not carried again. delta.json names the new bundle (name, version,
// sha256 of bundle.json), the base (name, version, sha256 of its
// bundle.json), every carried file and, for every other file, the base
// path holding its bytes.
//
// LoadBase reads a base: a bundle directory or archive, a volume set
// (out/volume), or just the base's bundle.json (enough to write a delta and
// to check the manifests, not the base's files). Verify checks a delta
// alone (its own files, bundle.json and its signature, and that delta.json
// and bundle.json agree) and, given the base, the whole new release: the
// base is the one the delta was made against and every file the delta
// takes from it is there with the right digest. Merge writes the full new
// bundle directory from the base and the delta, byte for byte what a full
// build writes, only after Verify found both complete and authentic, and
// verifies the result before it is renamed into place.
package delta
