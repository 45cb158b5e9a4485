// Package provenance writes a bundle's build provenance: an in-toto
// Statement v1 whose predicate is SLSA provenance v1, naming the archive
// and bundle.json by sha256, the definition digest, every input with its
// digest and the builder's version. Its output is deterministic (keys in a
// fixed order, lists sorted, no time but the bundle epoch). Envelope wraps a
// statement in a DSSE envelope with a signature the caller made over PAE.
// The package does no I/O.
package provenance
