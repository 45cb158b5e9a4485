package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// escapeWriter writes text with every control character but newline and
// tab shown as \xNN (or \u00NN for C1 controls), and invalid UTF-8 as
// \xNN, so strings from archives and bundle.json never reach a terminal raw
// (no ANSI escapes, no carriage returns rewriting a line).
type escapeWriter struct{ w io.Writer }

// escaped wraps w; commands that print what bundles hold use it for stdout
// and stderr.
func escaped(w io.Writer) io.Writer {
	if _, ok := w.(escapeWriter); ok {
		return w
	}
	return escapeWriter{w}
}

func (e escapeWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out = fmt.Appendf(out, `\x%02x`, p[i])
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r < 0x20 || r == 0x7f:
			out = fmt.Appendf(out, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[i:i+size]...)
		}
		i += size
	}
	if _, err := e.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// printable is s as escapeWriter writes it: for paths and names a command
// prints on a stream it does not escape as a whole (one a progress display
// shares), such as an -o directory holding control characters.
func printable(s string) string {
	var b strings.Builder
	_, _ = escapeWriter{&b}.Write([]byte(s))
	return b.String()
}
