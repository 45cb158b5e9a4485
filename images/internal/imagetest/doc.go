// Package imagetest holds what the tests of images, images/layout and
// images/registry share: loopback registries (go-containerregistry's
// in-process one, Debian's docker-registry, a hostile one that lies,
// stalls and drips on purpose), random platform images and indexes pushed
// to them, a fixture of every kind of source, small OCI layouts written by
// hand, a layout read as a stream (DirWalk), skopeo, and transports and
// handlers that count or refuse. Only tests import it.
package imagetest
