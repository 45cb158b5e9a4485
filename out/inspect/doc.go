// Package inspect reports what a built bundle holds from its bundle.json
// (directory, archive or volume set): Bundle returns the manifest with its file count,
// byte total and whether it is signed. It checks no hashes: package
// out/verify does.
package inspect
