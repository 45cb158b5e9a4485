package out

import (
	"strings"
)

// NEVRA is a parsed name-[epoch:]version-release.arch.
type NEVRA struct {
	Name, Epoch, Version, Release, Arch string
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

// CompareEVR orders two packages of one name like rpm: epoch, then version,
// then release, each with rpmvercmp.
func CompareEVR(a, b NEVRA) int {
	ea, eb := a.Epoch, b.Epoch
	if ea == "" {
		ea = "0"
	}
	if eb == "" {
		eb = "0"
	}
	if c := RPMVerCmp(ea, eb); c != 0 {
		return c
	}
	if c := RPMVerCmp(a.Version, b.Version); c != 0 {
		return c
	}
	return RPMVerCmp(a.Release, b.Release)
}

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// RPMVerCmp compares two version (or release) strings as rpm's rpmvercmp
// does: alternating runs of digits (compared numerically) and letters
// (compared as strings), separators ignored, '~' sorting before anything
// (even the end) and '^' after the end but before anything else.
func RPMVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	for len(a) > 0 || len(b) > 0 {
		for len(a) > 0 && !isAlnum(a[0]) && a[0] != '~' && a[0] != '^' {
			a = a[1:]
		}
		for len(b) > 0 && !isAlnum(b[0]) && b[0] != '~' && b[0] != '^' {
			b = b[1:]
		}
		// Tilde sorts before everything.
		if len(a) > 0 && a[0] == '~' || len(b) > 0 && b[0] == '~' {
			if len(a) == 0 || a[0] != '~' {
				return 1
			}
			if len(b) == 0 || b[0] != '~' {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		// Caret sorts after the end but before anything else.
		if len(a) > 0 && a[0] == '^' || len(b) > 0 && b[0] == '^' {
			if len(a) == 0 {
				return -1
			}
			if len(b) == 0 {
				return 1
			}
			if a[0] != '^' {
				return 1
			}
			if b[0] != '^' {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if len(a) == 0 || len(b) == 0 {
			break
		}
		var sa, sb string
		numeric := isDigit(a[0])
		if numeric {
			sa, a = span(a, isDigit)
			sb, b = span(b, isDigit)
		} else {
			sa, a = span(a, isAlpha)
			sb, b = span(b, isAlpha)
		}
		if sb == "" {
			// Different segment types: numeric is newer.
			if numeric {
				return 1
			}
			return -1
		}
		if numeric {
			sa, sb = strings.TrimLeft(sa, "0"), strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return -1
	}
	return 1
}

func span(s string, f func(byte) bool) (string, string) {
	i := 0
	for i < len(s) && f(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
