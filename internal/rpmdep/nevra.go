package rpmdep

import "strings"

// NEVRA is an RPM's identity: name, epoch, version, release and
// architecture. An empty Epoch and "0" are the same epoch. It is what the
// RPM reader, the compiler's package facts, the builder's SBOM facts and
// the SBOM embed, so an identity is copied whole, never field by field.
type NEVRA struct {
	Name, Epoch, Version, Release, Arch string
}

// String formats n as name-[epoch:]version-release.arch, with the epoch
// left out when it is empty or 0.
func (n NEVRA) String() string {
	return n.Name + "-" + n.EVR() + "." + n.Arch
}

// ParseNEVRA splits s ("mesos-0.22.0-1.0.centos65.x86_64", optionally with
// "E:" before the version). It returns ok false when s has too few parts.
func ParseNEVRA(s string) (NEVRA, bool) {
	var n NEVRA
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return n, false
	}
	n.Arch, s = s[i+1:], s[:i]
	i = strings.LastIndexByte(s, '-')
	if i <= 0 {
		return n, false
	}
	n.Release, s = s[i+1:], s[:i]
	i = strings.LastIndexByte(s, '-')
	if i <= 0 {
		return n, false
	}
	n.Version, n.Name = s[i+1:], s[:i]
	if e, v, ok := strings.Cut(n.Version, ":"); ok {
		n.Epoch, n.Version = e, v
	}
	if n.Name == "" || n.Version == "" || n.Release == "" || n.Arch == "" {
		return n, false
	}
	return n, true
}

// EVR is epoch:version-release, with a zero epoch left out.
func (n NEVRA) EVR() string {
	s := n.Version + "-" + n.Release
	if n.Epoch != "" && n.Epoch != "0" {
		s = n.Epoch + ":" + s
	}
	return s
}

// CompareNEVRA orders two packages of one name like rpm: epoch, then
// version, then release, each with rpmvercmp.
func CompareNEVRA(a, b NEVRA) int {
	return CompareEVR(a.EVR(), b.EVR())
}
