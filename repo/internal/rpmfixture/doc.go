// Package rpmfixture makes the RPMs the tests of repo and repo/rpm read:
// real distro packages from other projects' test data (fetched through
// the Go module proxy), createrepo_c's test packages under `make
// conformance`, packages built with rpmbuild and rpmpack, V3 and V4
// signatures made with generated keys, and signature headers edited
// entry by entry. Only tests import it.
package rpmfixture
