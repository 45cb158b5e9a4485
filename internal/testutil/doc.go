// Package testutil holds the helpers the project's tests share: the module
// root, required external tools (a missing one fails the test naming the
// Debian package to install), file digests and copies, OpenPGP key pairs,
// the process umask, the plain site derived from the example, and a
// loopback docker-registry. Only _test.go files import it.
package testutil
