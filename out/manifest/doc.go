// Package manifest is the bundle.json schema: the Manifest type and its
// canonical encoding, Parse (which checks the shape and every path field),
// SHA256SUMS, and the OpenPGP signature of bundle.json (making and checking
// it). It is what every other part imports to read a bundle's contents:
// the builder writes it, the readers and the vCenter deployer read it. It
// reads no files and imports neither.
package manifest
