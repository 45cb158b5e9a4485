package rpm

import (
	"encoding/binary"
	"unicode/utf8"
)

// cleanText makes header text fit for XML the way createrepo_c does: valid
// UTF-8 is kept; anything else is taken as ISO-8859-1 and converted, with
// C1 control bytes (0x80–0xBF) dropped. Control characters other than tab,
// newline and carriage return cannot appear in XML 1.0 and are dropped too
// (createrepo_c refuses such packages instead).
func cleanText(s string) string {
	// Most header text is printable ASCII: one pass says so.
	if plainText(s) {
		return s
	}
	if utf8.ValidString(s) {
		if !hasForbidden(s) {
			return s
		}
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if ForbiddenRune(r) {
				continue
			}
			b = utf8.AppendRune(b, r)
		}
		return string(b)
	}
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				continue
			}
			b = append(b, c)
		case c < 0xc0:
			// ISO-8859-1 C1 control: most likely misencoded cp1252; skip.
		default:
			b = append(b, 0xc2+btoi(c > 0xbf), (c&0x3f)+0x80)
		}
	}
	return string(b)
}

// plainText reports whether s is printable ASCII, tab, newline and
// carriage return only, eight bytes at a time.
func plainText(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if w&highs != 0 {
			return false
		}
		if (w-ones*0x20)&^w&highs != 0 { // a byte below 0x20
			for j := i; j < i+8; j++ {
				if !textClean[s[j]] {
					return false
				}
			}
		}
	}
	for ; i < len(s); i++ {
		if !textClean[s[i]] {
			return false
		}
	}
	return true
}

// textClean marks the bytes cleanText keeps as they are without looking
// further: printable ASCII, tab, newline and carriage return.
var textClean = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	t['\t'], t['\n'], t['\r'] = true, true, true
	return t
}()

func btoi(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// ForbiddenRune reports whether r cannot appear in XML 1.0 text: a control
// character other than tab, newline and carriage return, U+FFFE or U+FFFF.
// cleanText drops them.
func ForbiddenRune(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xfffe || r == 0xffff
}

func hasForbidden(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
		if c == 0xef && i+2 < len(s) && s[i+1] == 0xbf && (s[i+2] == 0xbe || s[i+2] == 0xbf) {
			return true
		}
	}
	return false
}
