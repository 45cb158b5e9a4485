package repo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The escaping fast paths give what the rules say, for
// strings with and without characters that need work.
func TestTextFastPaths(t *testing.T) {
	textRef := strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", "\r", "&#13;")
	attrRef := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '<':
				b.WriteString("&lt;")
			case r == '>':
				b.WriteString("&gt;")
			case r == '&':
				b.WriteString("&amp;")
			case r == '"':
				b.WriteString("&quot;")
			case r == '\n':
				b.WriteString("&#10;")
			case r == '\r':
				b.WriteString("&#13;")
			case r == '\t':
				b.WriteString("&#9;")
			case r >= 0x80:
				fmt.Fprintf(&b, "&#x%X;", r)
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	alphabet := []string{"a", "Z", "/", " ", "-", "<", ">", "&", "\"", "\n", "\r", "\t", "é", "ř", "€", "\x01", "\x7f"}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", "plain", "/usr/bin/x", "a<b", "é", "\x01"}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		if got, want := string(appendText([]byte("x"), s)), "x"+textRef.Replace(s); got != want {
			t.Errorf("appendText(%q) = %q, want %q", s, got, want)
		}
		if got, want := string(appendAttr([]byte("x"), s)), "x"+attrRef(s); got != want {
			t.Errorf("appendAttr(%q) = %q, want %q", s, got, want)
		}
	}
}
