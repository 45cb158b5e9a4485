// Package images mirrors container images into an OCI image layout pinned by
// digest, lists a layout's images, and pushes a layout (a directory, or a
// stream of its files such as a bundle archive holds) to a site registry,
// using go-containerregistry; it also writes an image of a layout as a
// legacy docker load archive (package dockersave) for Docker before 1.6.
// Every registry request, pulling and pushing, follows one HTTP policy
// (registry.go: plain HTTP, redirects, deadlines, size caps); every layout is
// read through one bounded loader (layoutread.go). It never prints.
package images
