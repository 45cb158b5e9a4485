// Package inputfacts gathers everything the compiler is told about a
// definition's inputs, once, in one place: the file facts (Files: what each
// package pattern expands to, what is at each single input path — GPG keys,
// disks, local image sources — and each VM disk's header; compiler.Wanted
// says what to look at), then what Gather reads from them: RPM headers and
// signatures against the repo's gpg_keys (through the scan cache), baseline
// repodata, the upgrade manifest, and every image's digest (pinned by the
// lock file; registry images per the Registries mode; what resolving asked
// the registries is kept for images.Mirror, Gathered.Resolved). The scan's digests
// of the RPMs it read are kept for the builder (Gathered.InputDigest).
// LocalImages refuses broken local image sources for bundle lock as Gather
// does. The tests of packages that compile a plan without the rest of
// pipeline call Files. It never prints.
package inputfacts
