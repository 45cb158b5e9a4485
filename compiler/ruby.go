package compiler

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// rubyLiteral renders plain data (string, bool, int, nil, []string, []any,
// map[string]string, map[string]any) as a Ruby literal that Ruby 1.9 and
// later read back as the same value: hashes with sorted keys, strings
// double-quoted with every character outside printable ASCII, and every
// '"', '\' and '#', escaped (newline and tab as \n and \t), so no value can end the string, interpolate
// or depend on the source encoding.
func rubyLiteral(v any) string {
	var b strings.Builder
	writeRuby(&b, v, "")
	return b.String()
}

func writeRuby(b *strings.Builder, v any, indent string) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case string:
		b.WriteString(rubyString(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case []string:
		a := make([]any, len(x))
		for i, s := range x {
			a[i] = s
		}
		writeRuby(b, a, indent)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(indent + "  ")
			writeRuby(b, e, indent+"  ")
			if i < len(x)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		writeRuby(b, m, indent)
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			b.WriteString(indent + "  " + rubyString(k) + " => ")
			writeRuby(b, x[k], indent+"  ")
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	default:
		panic(fmt.Sprintf("rubyLiteral: unsupported type %T", v)) // only the compiler's own data is rendered
	}
}

// rubyString quotes s as a Ruby double-quoted string literal.
func rubyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '#':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\u{%x}`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
