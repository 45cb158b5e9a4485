package compiler

import "strings"

// Facts are what was learned about the inputs before compiling: RPM headers,
// image digests, the bytes of existing files the definition names. Compile
// never reads them itself. A nil *Facts means none were gathered: the checks
// that need them are skipped and the renderers fall back to what the
// definition says.
type Facts struct {
	// Packages lists the RPMs of each repo, by repo name (the repo block's
	// label).
	Packages map[string][]PackageFact
	// Images holds the resolved digest and repository of each image, by image
	// name (the image block's label).
	Images map[string]ImageFact
	// Manifests holds existing BDE distro manifests, by the path as written in
	// a distro's manifest attribute.
	Manifests map[string][]byte
}

// PackageFact is one RPM's identity and what it provides.
type PackageFact struct {
	Name, Epoch, Version, Release, Arch string
	// Provides are the capabilities the package provides, as "name" or
	// "name OP version" (for example "zookeeper = 3.4.6").
	Provides []string
}

// ImageFact is a resolved container image.
type ImageFact struct {
	// Digest is the manifest (or index) digest, "sha256:<hex>" or bare hex.
	Digest string
	// Repository is the repository path the site registry serves the image
	// under, like "library/nginx".
	Repository string
}

// provides reports whether the package is named name or provides it.
func (p PackageFact) provides(name string) bool {
	if p.Name == name {
		return true
	}
	for _, pr := range p.Provides {
		n := pr
		if i := strings.IndexAny(pr, " <>="); i >= 0 {
			n = pr[:i]
		}
		if n == name {
			return true
		}
	}
	return false
}
