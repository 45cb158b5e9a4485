// Package images holds the image sources: it pulls images from registries,
// docker archives and OCI layouts, converts Docker media types to OCI ones,
// selects platforms, and resolves (Resolve), pins (Lock) and mirrors
// (Mirror) them into one OCI image layout pinned by digest; it also writes
// an image of a layout as a legacy docker load archive (package dockersave)
// for Docker before 1.6. By medium, the rest lives below it: the layout's
// format, graph, blob store, check and listing in images/layout (which
// speaks to no registry), the registry HTTP policy and the push of a layout
// to a site registry in images/registry, OVF templates in images/ovf.
// Registry requests go through registry.Options (one plain-HTTP policy, one
// retry policy); local sources are read through layout's bounded loader
// and the hard caps. Files by job: mirror.go (the layout being built),
// open.go (opening a source), platforms.go, convert.go, collect.go (an
// artifact's blobs), previous.go (the layout being replaced as a cache),
// resolve.go (with Resolutions, which hands what resolving fetched to the
// mirror of the same build: each manifest is asked for once), lock.go (pinning specs to digests; the lock file itself is
// internal/lockfile), bounded.go and tarcheck.go (the caps on what is
// read). It never prints.
package images
