// Package rpm reads RPM packages: ReadFile checks the lead and both
// headers with rpm 4.18's limits and sanity rules before go-rpmutils
// parses them, verifies every digest rpm checks (and, with a keyring, the
// OpenPGP signatures, through repo/rpmsig) and computes the sha256 of the
// file in the same pass; ReadSignatures lists a package's signatures from
// its signature header alone. Package is what is learned about one RPM
// (the fields createrepo_c writes into repodata; its identity is the
// embedded rpmdep.NEVRA), and VerCmp, CompareEVR and Providers compare
// versions and resolve dependencies with rpm's rules.
//
// It knows nothing of yum repositories: the repodata writer and reader
// (package repo) build on it.
package rpm
