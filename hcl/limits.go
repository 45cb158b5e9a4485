package hcl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Limits on what Load reads, so that a hostile or broken file is a clear
// error rather than an exhausted memory or stack.
const (
	// MaxFileSize bounds each definition file, var file and manifest.
	MaxFileSize = 16 << 20
	// MaxNesting bounds how deeply brackets, braces and parentheses nest.
	MaxNesting = 64
	// MaxListLength bounds list and map attributes (hosts, packages,
	// provides, attributes, env, constraints...).
	MaxListLength = 100000
)

// checkNesting refuses sources whose blocks and expressions nest deeper
// than MaxNesting, before the recursive parser sees them. It skips quoted
// strings and comments; brackets in heredocs count, which only errs on the
// safe side.
func checkNesting(src []byte, filename string) hcl.Diagnostics {
	depth, line, col := 0, 1, 1
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			line, col = line+1, 0
		case c == '"':
			for i++; i < len(src) && src[i] != '"' && src[i] != '\n'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case c == '#' || c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			for i += 2; i+1 < len(src) && !(src[i] == '*' && src[i+1] == '/'); i++ {
				if src[i] == '\n' {
					line, col = line+1, 0
				}
			}
			i++
		case c == '{' || c == '[' || c == '(':
			depth++
			if depth > MaxNesting {
				pos := hcl.Pos{Line: line, Column: col, Byte: i}
				return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Nesting too deep",
					Detail:  fmt.Sprintf("Blocks and expressions nest more than %d levels deep here.", MaxNesting),
					Subject: &hcl.Range{Filename: filename, Start: pos, End: hcl.Pos{Line: line, Column: col + 1, Byte: i + 1}}}}
			}
		case c == '}' || c == ']' || c == ')':
			depth = max(depth-1, 0)
		}
		col++
	}
	return nil
}
