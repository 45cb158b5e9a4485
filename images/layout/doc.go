// Package layout is the OCI image layout a bundle holds under images/: its
// format (index.json, oci-layout, blobs/sha256, the annotations each entry
// carries, the media type modes), the graph of manifests and indexes
// read from a directory or a stream of its files (LoadDir, LoadStream:
// every document bounded by the hard caps and checked against its digest,
// indexes nested at most MaxIndexDepth deep), images and indexes opened
// from it (Graph.Open: configs and layers read as bounded files), the
// blob store that writes verified blobs into a new layout (Store,
// WriteIndex), the offline check (Verify) and the listing (List,
// ListStream). It speaks to no registry and imports no registry code
// (a fence): the sources (package images) and the registry push
// (images/registry) build on it. It never prints.
package layout
