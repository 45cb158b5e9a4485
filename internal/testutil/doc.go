// Package testutil holds the helpers the project's tests share: the module
// root, required external tools (a missing one fails the test naming the
// Debian package to install), file digests, OpenPGP key pairs and the
// process umask. Only _test.go files import it.
package testutil
