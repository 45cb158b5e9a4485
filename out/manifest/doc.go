// Package manifest is the bundle format: the bundle.json schema (the
// Manifest type and its canonical encoding, Parse, which checks the shape
// and every path field), SHA256SUMS, the OpenPGP signature of bundle.json
// (making and checking it), the layout's top-level directory names
// (layout.go), the one path check (CheckRelPath) and digest check
// (IsSHA256), and VerifyError, the one error for a bundle that does not
// verify. It is what every other part imports to read a bundle's contents:
// the compiler takes its layout names from it, the builder writes it, the
// readers and the vCenter deployer read it. It is a pure leaf: it reads no
// files and imports no package of the module.
package manifest
