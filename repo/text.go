package repo

import (
	"strconv"
	"unicode/utf8"
)

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
