// Package compiler turns a loaded Definition plus Facts gathered about its
// inputs (which files its globs name, RPM headers, image digests, disk
// headers; Wanted lists what to gather) into a Plan: every file the
// bundle will contain and where it comes from. Compile is pure: no network, no
// writes, no reads beyond what arrives as Facts. All cross-artifact checks and
// all rendering of text artifacts happen here, so a site that cannot work is
// refused before anything is written: the Plan's parts are built (compile.go),
// one check pass reports every diagnostic once (check.go), one renderer per
// output family writes its files (bde.go, mesos.go, marathon.go,
// chronos.go, haproxy.go, chef.go; render.go joins them) and reports nothing, the rendered paths are
// checked against the inputs' (layout.go), and the errors that follow from a
// root cause are folded into it (rootcause.go). docs/compiler.md has the
// details.
//
// The one file whose content only the build learns (each docker load
// archive's sha256 and image id) is named in the Plan and rendered here too,
// by DockerArchivesAttributes. The bundle's
// top-level directory names and its path and digest checks are the bundle
// format's (out/manifest, a pure leaf and the one out package imported here).
package compiler
