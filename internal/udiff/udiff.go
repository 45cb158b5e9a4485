package udiff

import (
	"strconv"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Context is the number of unchanged lines around each change.
const Context = 3

// noNewline follows a line that is the last of its file and has no newline.
const noNewline = "\\ No newline at end of file\n"

// Unified returns the unified diff turning a into b, with the headers
// "--- from" and "+++ to" ("/dev/null" for a side that does not exist), or
// "" when a and b are equal.
func Unified(from, to, a, b string) string {
	if a == b {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	var sb strings.Builder
	sb.WriteString("--- " + from + "\n")
	sb.WriteString("+++ " + to + "\n")
	m := difflib.NewMatcher(al, bl)
	for _, g := range m.GetGroupedOpCodes(Context) {
		first, last := g[0], g[len(g)-1]
		sb.WriteString("@@ -" + hunkRange(first.I1, last.I2) + " +" + hunkRange(first.J1, last.J2) + " @@\n")
		for _, c := range g {
			switch c.Tag {
			case 'e':
				writeLines(&sb, ' ', al[c.I1:c.I2])
			case 'r':
				writeLines(&sb, '-', al[c.I1:c.I2])
				writeLines(&sb, '+', bl[c.J1:c.J2])
			case 'd':
				writeLines(&sb, '-', al[c.I1:c.I2])
			case 'i':
				writeLines(&sb, '+', bl[c.J1:c.J2])
			}
		}
	}
	return sb.String()
}

// splitLines cuts s after each newline; the last line keeps no newline
// when s does not end with one. An empty s has no lines.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeLines(sb *strings.Builder, sign byte, lines []string) {
	for _, l := range lines {
		sb.WriteByte(sign)
		sb.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			sb.WriteString("\n" + noNewline)
		}
	}
}

// hunkRange formats lines [start, stop) of one side as diff(1) does: "l"
// for one line, "l,n" otherwise, and "l,0" with l the line before an empty
// range.
func hunkRange(start, stop int) string {
	n := stop - start
	switch n {
	case 0:
		return strconv.Itoa(start) + ",0"
	case 1:
		return strconv.Itoa(start + 1)
	}
	return strconv.Itoa(start+1) + "," + strconv.Itoa(n)
}
