package repo

import "strings"

// RepoFile renders the yum .repo file for a repository: gpgcheck=1 with the
// given key URLs, or gpgcheck=0 when there are none. repo_gpgcheck stays
// off: yum checks package signatures, and repomd.xml.asc is for offline
// verification with the bundle's own key.
func RepoFile(id, name, baseURL string, gpgKeyURLs []string) []byte {
	var b strings.Builder
	b.WriteString("[" + oneLine(id) + "]\n")
	b.WriteString("name=" + oneLine(name) + "\n")
	b.WriteString("baseurl=" + oneLine(baseURL) + "\n")
	b.WriteString("enabled=1\n")
	if len(gpgKeyURLs) == 0 {
		b.WriteString("gpgcheck=0\n")
		return []byte(b.String())
	}
	b.WriteString("gpgcheck=1\n")
	for i, u := range gpgKeyURLs {
		if i == 0 {
			b.WriteString("gpgkey=" + oneLine(u) + "\n")
		} else {
			b.WriteString("       " + oneLine(u) + "\n")
		}
	}
	return []byte(b.String())
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}
