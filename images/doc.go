// Package images mirrors container images into an OCI image layout pinned by
// digest and pushes a layout to a site registry, using go-containerregistry.
package images
