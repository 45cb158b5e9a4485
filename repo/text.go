package repo

import (
	"encoding/binary"
	"strconv"
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
			if forbiddenRune(r) {
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

// textEsc and attrEsc mark the bytes appendText and appendAttr must
// escape (attrEsc: also every byte of a non-ASCII character).
var textEsc, attrEsc = func() (t, a [256]bool) {
	for _, c := range "<>&\r" {
		t[c] = true
	}
	for _, c := range "<>&\"\n\r\t" {
		a[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		a[c] = true
	}
	return t, a
}()

func btoi(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func forbiddenRune(r rune) bool {
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

// appendText appends s escaped as XML character data, byte-compatible with
// libxml2's serialisation (what createrepo_c writes).
func appendText(b []byte, s string) []byte {
	i := 0
	for i < len(s) && !textEsc[s[i]] {
		i++
	}
	if i == len(s) {
		return append(b, s...)
	}
	start := 0
	for ; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendAttr appends s escaped as an XML attribute value (without quotes),
// byte-compatible with libxml2: non-ASCII characters become character
// references.
func appendAttr(b []byte, s string) []byte {
	i := 0
	for i < len(s) && !attrEsc[s[i]] {
		i++
	}
	if i == len(s) {
		return append(b, s...)
	}
	start := 0
	for i < len(s) {
		c := s[i]
		var esc string
		size := 1
		switch {
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '&':
			esc = "&amp;"
		case c == '"':
			esc = "&quot;"
		case c == '\n':
			esc = "&#10;"
		case c == '\r':
			esc = "&#13;"
		case c == '\t':
			esc = "&#9;"
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			size = n
			b = append(b, s[start:i]...)
			b = append(b, "&#x"...)
			b = append(b, upperHex(r)...)
			b = append(b, ';')
			i += size
			start = i
			continue
		default:
			i++
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

func upperHex(r rune) string {
	h := strconv.FormatInt(int64(r), 16)
	out := []byte(h)
	for i, c := range out {
		if c >= 'a' && c <= 'f' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out)
}
