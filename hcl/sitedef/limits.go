package sitedef

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
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
	MaxListLength = 10000
	// MaxInstances bounds a node group's or an app's instances.
	MaxInstances = 10000
	// MaxValueBytes bounds the string bytes one value (a variable's, a
	// local's, an attribute's) holds, nested strings counted: a chain of
	// locals that each double the last would otherwise grow past any
	// memory in thirty steps.
	MaxValueBytes = 1 << 20
	// MaxWork bounds the steps evaluating one expression takes, counted
	// before it is evaluated (hcl/cost.go): a reference or function call
	// costs the elements (and 64-byte runs of string) it walks, an
	// iteration one. A for expression filtering a list of 10,000 with
	// contains over a list of 100 takes about 1.1 million.
	MaxWork = 4 << 20
)

// checkValueBytes refuses v, at rng, when its strings hold more than
// MaxValueBytes bytes.
func checkValueBytes(v cty.Value, what string, rng *hcl.Range) hcl.Diagnostics {
	if n := stringBytes(v, MaxValueBytes+1); n > MaxValueBytes {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Value too large",
			Detail:  fmt.Sprintf("%s holds more than %d bytes of strings; that is the limit of a value.", what, MaxValueBytes),
			Subject: rng}}
	}
	return nil
}

// stringBytes counts the bytes of v's strings, nested ones included,
// stopping once the count reaches stop.
func stringBytes(v cty.Value, stop int) int {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return 0
	}
	v, _ = v.Unmark()
	t := v.Type()
	switch {
	case t == cty.String:
		return len(v.AsString())
	case t.IsListType() || t.IsSetType() || t.IsMapType() || t.IsTupleType() || t.IsObjectType():
		n := 0
		for it := v.ElementIterator(); n < stop && it.Next(); {
			k, e := it.Element()
			if t.IsMapType() || t.IsObjectType() {
				n += stringBytes(k, stop-n)
			}
			n += stringBytes(e, stop-n)
		}
		return n
	}
	return 0
}

// checkSizes evaluates every attribute of the bodies (blocks included, at
// any depth) and refuses, at the attribute, a list, set, map or object
// holding more than MaxListLength elements in all (nested ones counted) and
// an instances count above MaxInstances, before the definition is decoded
// and compiled. Evaluation errors are left to decoding to report.
func checkSizes(bodies []*hcl.File, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		names := make([]string, 0, len(b.Attributes))
		for n := range b.Attributes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			a := b.Attributes[n]
			if ds := checkForSize(a.Expr, ctx); ds.HasErrors() {
				diags = append(diags, ds...)
				continue
			}
			v, ds := a.Expr.Value(ctx)
			if ds.HasErrors() {
				continue
			}
			if n == "instances" && v.IsKnown() && !v.IsNull() && v.Type() == cty.Number {
				if bf := v.AsBigFloat(); bf.Cmp(big.NewFloat(MaxInstances)) > 0 {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Too many instances",
						Detail:  fmt.Sprintf("instances is %s; at most %d are allowed.", bf.Text('g', 10), MaxInstances),
						Subject: a.SrcRange.Ptr()})
				}
				continue
			}
			if ds := checkValueBytes(v, n, a.SrcRange.Ptr()); ds.HasErrors() {
				diags = append(diags, ds...)
				continue
			}
			if k := elements(v, MaxListLength+1); k > MaxListLength {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "List too long",
					Detail:  fmt.Sprintf("%s holds more than %d elements (nested ones counted); that is the limit.", n, MaxListLength),
					Subject: a.SrcRange.Ptr()})
			}
		}
		for _, blk := range b.Blocks {
			walk(blk.Body)
		}
	}
	for _, f := range bodies {
		if b, ok := f.Body.(*hclsyntax.Body); ok {
			walk(b)
		}
	}
	return diags
}

// elements counts the elements of v's collections, nested ones included,
// stopping once the count reaches stop.
func elements(v cty.Value, stop int) int {
	if !v.IsKnown() || v.IsNull() {
		return 0
	}
	t := v.Type()
	if !t.IsListType() && !t.IsSetType() && !t.IsMapType() && !t.IsTupleType() && !t.IsObjectType() {
		return 0
	}
	n := v.LengthInt()
	for it := v.ElementIterator(); n < stop && it.Next(); {
		_, e := it.Element()
		n += elements(e, stop-n)
	}
	return n
}

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
