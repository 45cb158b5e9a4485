// Package registry speaks to container registries: the one HTTP policy of
// every registry request, pulling and pushing alike (policy.go: plain HTTP
// only to loopback and --insecure-registry hosts through
// internal/plainhttp, redirects only for blob downloads, deadlines on the
// answer, on every read and on the whole request, the manifest cap), with
// the options that reach a registry (Options: credentials, deadlines,
// workers, retries through internal/retry), and the push of an OCI layout
// (a directory, or a stream of its files such as a bundle archive holds)
// to a site registry: blobs the registry lacks, each hashed as it is sent,
// then the manifests, then a check of the pushed digest (Push,
// PushStream). It reads layouts through images/layout's graph; it never
// pulls an image (package images does, through Options.Remote). It never
// prints.
package registry
