package rpm

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// The cleaning fast path gives what the rules say, for strings with and
// without characters that need work.
func TestCleanTextFastPath(t *testing.T) {
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
		c := cleanText(s)
		if !utf8.ValidString(c) || hasForbidden(c) {
			t.Errorf("cleanText(%q) = %q keeps a forbidden character", s, c)
		}
		if !hasForbidden(s) && c != s {
			t.Errorf("cleanText(%q) = %q, want it unchanged", s, c)
		}
	}
}
