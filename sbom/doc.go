// Package sbom writes and reads a bundle's software bill of materials,
// sbom.cdx.json: a CycloneDX JSON document (github.com/CycloneDX/cyclonedx-go)
// naming every RPM (header facts, purl, sha256, the bundle RPMs that satisfy
// its requirements), every container image (manifest digest per platform),
// every VM template with its disks, and every other file of the bundle.
// Encode is deterministic: components and properties are sorted, the only
// timestamp is the bundle epoch and the serial number is a UUIDv5 of the
// document's content. Requires computes the dependency graph (within the
// repos yum sees together) and Namespace an RPM's purl namespace. Read,
// Check and Compare serve verify and diff. The package does no I/O.
package sbom
