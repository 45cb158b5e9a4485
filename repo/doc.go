// Package repo builds and reads yum repositories: it scans directories of
// RPMs (each read with repo/rpm, in parallel, with an optional scan cache),
// writes createrepo_c-compatible repodata (repomd.xml, primary, filelists,
// other), reuses unchanged packages' metadata with --update, signs
// repomd.xml, reads and verifies repodata, and writes .repo files.
package repo
