package rpm

import (
	"strings"

	"github.com/bdebundle/bundle/internal/rpmdep"
)

// Package is everything learned about one RPM: the fields createrepo_c
// writes into primary.xml, filelists.xml and other.xml, plus the facts the
// scan established (checksum, size, signer).
type Package struct {
	// NEVRA is the package's identity; Epoch is "0" when the header has
	// no epoch, Arch "src" for source packages.
	rpmdep.NEVRA

	Summary     string
	Description string
	Packager    string
	URL         string
	License     string
	Vendor      string
	Group       string
	BuildHost   string
	SourceRPM   string

	// Location is the href of the file relative to the repository directory,
	// with forward slashes.
	Location string
	// Checksum is the hex sha256 of the whole file (the pkgid).
	Checksum string
	// Size is the size of the file in bytes.
	Size          int64
	InstalledSize int64
	ArchiveSize   int64
	BuildTime     int64
	// HeaderStart and HeaderEnd are the byte range of the header
	// (signature header end to payload start), as createrepo_c records it.
	HeaderStart int64
	HeaderEnd   int64

	Provides    []Dep
	Requires    []Dep
	Conflicts   []Dep
	Obsoletes   []Dep
	Recommends  []Dep
	Suggests    []Dep
	Supplements []Dep
	Enhances    []Dep

	// Files lists every file of the package in header order.
	Files []File
	// Changelogs holds at most ChangelogLimit entries, oldest first.
	Changelogs []Changelog

	// SignerKeyID is the hex key id of the (primary) key whose signature
	// was verified, empty when no keyring was given.
	SignerKeyID string
	// Signatures lists the OpenPGP signatures of the signature header,
	// in rpm's order, whether or not a keyring was given.
	Signatures []Signature
}

// Dep is one dependency entry (see rpmdep.Dep).
type Dep = rpmdep.Dep

// File is one file of a package. Type is "" (regular file or symlink),
// "dir" or "ghost".
type File struct {
	Path string
	Type string
}

// Changelog is one changelog entry.
type Changelog struct {
	Author string
	Date   int64
	Text   string
}

// PrimaryFile reports whether createrepo_c lists path in primary.xml:
// anything under /etc/, any path containing "bin/", and /usr/lib/sendmail.
func PrimaryFile(path string) bool {
	return strings.HasPrefix(path, "/etc/") || strings.Contains(path, "bin/") || path == "/usr/lib/sendmail"
}
