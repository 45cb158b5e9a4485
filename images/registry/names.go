package registry

import "strings"

// RepositoryName turns an image name into a valid repository path: the
// repository of an image from a local source at the site registry, and of
// a layout entry without a repository annotation.
func RepositoryName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '/', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-._/")
	if out == "" {
		return "image"
	}
	return out
}

// SiteRef is the reference to an image at the site registry, pinned by digest:
// <registry>/<repository>@sha256:…
func SiteRef(registry, repository, digest string) string {
	return strings.TrimSuffix(registry, "/") + "/" + repository + "@" + digest
}
