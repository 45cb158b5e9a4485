// Package repo builds yum repositories: it reads RPM headers with go-rpmutils,
// writes createrepo_c-compatible repodata (repomd.xml, primary, filelists,
// other), signs repomd.xml, verifies package signatures and digests, and checks
// dependency closure with rpm version semantics.
package repo
