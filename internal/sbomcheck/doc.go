// Package sbomcheck validates CycloneDX JSON with the CycloneDX project's own
// strict JSON validator (npm @cyclonedx/cyclonedx-library with ajv), for
// tests. The npm packages are pinned in package-lock.json and installed with
// `npm ci` in this directory (.ci/run does it; Validate says so when they are
// missing).
package sbomcheck
