package rpmdep

import "strings"

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// VerCmp compares two version (or release) strings with rpm's rpmvercmp
// rules, including "~" (sorts before anything, even the end) and "^" (sorts
// after the end but before anything else). It returns -1, 0 or 1.
func VerCmp(a, b string) int {
	if a == b {
		return 0
	}
	one, two := a, b
	for len(one) > 0 || len(two) > 0 {
		for len(one) > 0 && !isAlnum(one[0]) && one[0] != '~' && one[0] != '^' {
			one = one[1:]
		}
		for len(two) > 0 && !isAlnum(two[0]) && two[0] != '~' && two[0] != '^' {
			two = two[1:]
		}
		// tilde sorts before everything else
		if (len(one) > 0 && one[0] == '~') || (len(two) > 0 && two[0] == '~') {
			if len(one) == 0 || one[0] != '~' {
				return 1
			}
			if len(two) == 0 || two[0] != '~' {
				return -1
			}
			one, two = one[1:], two[1:]
			continue
		}
		// caret: like tilde, but a string that ends sorts lower
		if (len(one) > 0 && one[0] == '^') || (len(two) > 0 && two[0] == '^') {
			if len(one) == 0 {
				return -1
			}
			if len(two) == 0 {
				return 1
			}
			if one[0] != '^' {
				return 1
			}
			if two[0] != '^' {
				return -1
			}
			one, two = one[1:], two[1:]
			continue
		}
		if len(one) == 0 || len(two) == 0 {
			break
		}
		var i, j int
		isnum := isDigit(one[0])
		if isnum {
			for i < len(one) && isDigit(one[i]) {
				i++
			}
			for j < len(two) && isDigit(two[j]) {
				j++
			}
		} else {
			for i < len(one) && isAlpha(one[i]) {
				i++
			}
			for j < len(two) && isAlpha(two[j]) {
				j++
			}
		}
		seg1, seg2 := one[:i], two[:j]
		if j == 0 {
			// numeric segments are newer than alpha ones
			if isnum {
				return 1
			}
			return -1
		}
		if isnum {
			seg1 = strings.TrimLeft(seg1, "0")
			seg2 = strings.TrimLeft(seg2, "0")
			if len(seg1) > len(seg2) {
				return 1
			}
			if len(seg2) > len(seg1) {
				return -1
			}
		}
		if c := strings.Compare(seg1, seg2); c != 0 {
			return c
		}
		one, two = one[i:], two[j:]
	}
	if len(one) == 0 && len(two) == 0 {
		return 0
	}
	if len(one) == 0 {
		return -1
	}
	return 1
}

// ParseEVR splits "[epoch:]version[-release]"; a missing epoch is "0".
func ParseEVR(s string) (epoch, version, release string) {
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.Trim(s[:i], "0123456789") == "" {
		epoch, s = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		version, release = s[:i], s[i+1:]
	} else {
		version = s
	}
	return epoch, version, release
}

// CompareEVR compares two "[epoch:]version[-release]" strings the way rpm
// does: epochs numerically (missing = 0), then version and release with
// VerCmp. A release missing on either side is not compared.
func CompareEVR(a, b string) int {
	ea, va, ra := ParseEVR(a)
	eb, vb, rb := ParseEVR(b)
	return CompareEVRParts(ea, va, ra, eb, vb, rb)
}

func CompareEVRParts(ea, va, ra, eb, vb, rb string) int {
	if c := compareEpoch(ea, eb); c != 0 {
		return c
	}
	if c := VerCmp(va, vb); c != 0 {
		return c
	}
	if ra == "" || rb == "" {
		return 0
	}
	return VerCmp(ra, rb)
}

func compareEpoch(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return strings.Compare(a, b)
}
