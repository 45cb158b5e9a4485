package sitedef

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// What an expression builds is measured before HCL evaluates it: HCL builds
// a value whole, so `[for a in A : [for b in B : ...]]` over two literal
// lists of a thousand would hold a million values, `replace(local.k, "k",
// local.k)` over a 1 MiB local a terabyte, and a template naming a 1 MiB
// local a million times as much, before any check could count them.
//
// The measure is an upper bound of the elements (nested ones counted, as
// elements counts them) and string bytes of the value and of every value
// built on the way, from the expression's structure: literals and
// references (looked up, never built) count what they hold; functions by
// what they can make of their arguments (replace: the string times the
// replacement, join: the lists plus a separator per element, format: the
// format, its arguments and every width it names, ...); a for expression's
// collection is measured, then evaluated (it is within the limits), and
// its body measured once per element with the element bound, stopping as
// soon as the count passes a limit. An iteration counts its value's
// elements, or one for a value without any (a list of 100 lists of 100 is
// 10,000), and the iterations of nested for expressions count together
// (two template directives of 1,000 and 300 are 300,000). The work done is
// thus bounded by the limits, whatever the product would be.
//
// Time is bounded the same way: every step of the evaluation counts as
// work (MaxWork): a reference the size of its value, a function call the
// size of its arguments (contains, distinct, flatten... walk them: a
// filter `contains(local.big, x)` over local.big itself is quadratic
// while building nothing), an iteration one. Measuring costs what it
// counts, and it stops once the count passes the limit, so the refusal
// itself comes fast.

// cost is what a value holds: elements (nested counted) and string bytes.
type cost struct{ n, b int }

type bounder struct {
	maxN, maxB int
	atN        *hcl.Range // the outermost for expression over maxN
	atB        *hcl.Range // the first (innermost) expression over maxB
	// iterations counts the for iterations measured in all: nested ones
	// do the work of their product even when they build strings.
	iterations int
	// work counts the steps of the evaluation (MaxWork); atW is the
	// outermost for expression over it, or the expression itself.
	work, maxWork int
	atW           *hcl.Range
}

// over reports whether a limit was passed: measuring stops.
func (c *bounder) over() bool { return c.atN != nil || c.atB != nil || c.atW != nil }

// addWork counts w steps of evaluation at r.
func (c *bounder) addWork(w int, r hcl.Range) {
	c.work = min(c.work+w, c.maxWork+1)
	if c.work > c.maxWork && c.atW == nil {
		c.atW = r.Ptr()
	}
}

// argWork is the work of walking a value of cost x once: its elements,
// and its strings at 64 bytes a step.
func argWork(x cost) int { return 1 + x.n + x.b/64 }

func (c *bounder) sat(x cost) cost { return cost{min(x.n, c.maxN+1), min(x.b, c.maxB+1)} }

func (c *bounder) plus(xs ...cost) cost {
	var t cost
	for _, x := range xs {
		t = c.sat(cost{t.n + x.n, t.b + x.b})
	}
	return t
}

// mul multiplies saturating at the limits.
func mul(a, b, limit int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > limit/b+1 {
		return limit + 1
	}
	return min(a*b, limit+1)
}

func (c *bounder) overB(x cost, r hcl.Range) {
	if x.b > c.maxB && c.atB == nil {
		c.atB = r.Ptr()
	}
}

// checkForSize refuses e before it is evaluated when it would build more
// than MaxListLength elements in a for expression (at the outermost such
// for) or more than MaxValueBytes of strings on the way (at the first
// expression over it). A value over the element limit only by adding up
// for expressions each within it is left to checkSizes, which counts it.
func checkForSize(e hcl.Expression, ctx *hcl.EvalContext) hcl.Diagnostics {
	se, ok := e.(hclsyntax.Expression)
	if !ok {
		return nil
	}
	c := &bounder{maxN: MaxListLength, maxB: MaxValueBytes, maxWork: MaxWork}
	c.measure(se, ctx)
	switch {
	case c.atW != nil:
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Expression too costly",
			Detail:  fmt.Sprintf("Evaluating this expression takes more than %d steps (each iteration's references and function calls counted by the size of the values they walk, as contains over a list walks the list); that is the limit of an expression, so it is refused before it is evaluated.", MaxWork),
			Subject: c.atW}}
	case c.atN != nil:
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "List too long",
			Detail:  fmt.Sprintf("This for expression builds more than %d elements (its iterations' elements counted); that is the limit of an attribute's value, so it is refused before it is evaluated.", MaxListLength),
			Subject: c.atN}}
	case c.atB != nil:
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Value too large",
			Detail:  fmt.Sprintf("This expression could build more than %d bytes of strings; that is the limit of a value, so it is refused before it is evaluated.", MaxValueBytes),
			Subject: c.atB}}
	}
	return nil
}

func (c *bounder) value(v cty.Value) cost {
	return cost{elements(v, c.maxN+1), stringBytes(v, c.maxB+1)}
}

// eval evaluates an expression already measured within the limits.
func eval(e hclsyntax.Expression, ctx *hcl.EvalContext) (cty.Value, bool) {
	v, diags := e.Value(ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false // reported when the attribute is evaluated
	}
	v, _ = v.Unmark()
	return v, true
}

// slack is what a number or bool interpolated into a string adds at most
// in practice (cty writes numbers in their shortest form).
const slack = 24

func (c *bounder) measure(e hclsyntax.Expression, ctx *hcl.EvalContext) cost {
	if e == nil {
		return cost{}
	}
	var r cost
	switch e := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		r = c.value(e.Val)
		c.addWork(1, e.SrcRange)
	case *hclsyntax.ScopeTraversalExpr:
		if v, ok := eval(e, ctx); ok {
			r = c.value(v)
		}
		c.addWork(argWork(r), e.SrcRange)
	case *hclsyntax.RelativeTraversalExpr:
		r = c.measure(e.Source, ctx) // a part of the source
	case *hclsyntax.IndexExpr:
		k := c.measure(e.Key, ctx)
		r = c.measure(e.Collection, ctx)
		c.overB(c.plus(r, k), e.SrcRange)
	case *hclsyntax.SplatExpr:
		r = c.measure(e.Source, ctx)
	case *hclsyntax.ParenthesesExpr:
		r = c.measure(e.Expression, ctx)
	case *hclsyntax.TemplateWrapExpr:
		r = c.measure(e.Wrapped, ctx)
	case *hclsyntax.TemplateExpr:
		for _, p := range e.Parts {
			x := c.measure(p, ctx)
			if _, lit := p.(*hclsyntax.LiteralValueExpr); !lit {
				x.b += slack // the part may be a number or a bool
			}
			r = c.plus(r, cost{0, x.b})
		}
	case *hclsyntax.TemplateJoinExpr:
		x := c.measure(e.Tuple, ctx)
		r = cost{0, c.plus(x, cost{0, mul(x.n, slack, c.maxB)}).b}
	case *hclsyntax.TupleConsExpr:
		r = c.sat(cost{len(e.Exprs), 0})
		for _, x := range e.Exprs {
			r = c.plus(r, c.measure(x, ctx))
		}
	case *hclsyntax.ObjectConsExpr:
		r = c.sat(cost{len(e.Items), 0})
		for _, it := range e.Items {
			r = c.plus(r, c.measure(it.KeyExpr, ctx), c.measure(it.ValueExpr, ctx))
		}
	case *hclsyntax.ObjectConsKeyExpr:
		if hcl.ExprAsKeyword(e.Wrapped) != "" && !e.ForceNonLiteral {
			r = cost{0, len(hcl.ExprAsKeyword(e.Wrapped))}
		} else {
			r = c.measure(e.Wrapped, ctx)
		}
	case *hclsyntax.ConditionalExpr:
		c.measure(e.Condition, ctx)
		t, f := c.measure(e.TrueResult, ctx), c.measure(e.FalseResult, ctx)
		r = cost{max(t.n, f.n), max(t.b, f.b)}
	case *hclsyntax.UnaryOpExpr:
		c.measure(e.Val, ctx) // a number or a bool
	case *hclsyntax.BinaryOpExpr:
		c.measure(e.LHS, ctx)
		c.measure(e.RHS, ctx)
	case *hclsyntax.FunctionCallExpr:
		r = c.call(e, ctx)
	case *hclsyntax.ForExpr:
		r = c.forCost(e, ctx)
	default:
		r = cost{c.maxN + 1, c.maxB + 1} // an expression kind not known here: refuse rather than guess
		c.overB(r, e.Range())
	}
	c.overB(r, e.Range())
	return r
}

// call measures a function call from its arguments.
func (c *bounder) call(e *hclsyntax.FunctionCallExpr, ctx *hcl.EvalContext) cost {
	args := make([]cost, len(e.Args))
	var sum cost
	maxN := 0
	for i, a := range e.Args {
		args[i] = c.measure(a, ctx)
		sum = c.plus(sum, args[i])
		maxN = max(maxN, args[i].n)
	}
	c.addWork(argWork(sum), e.Range())
	if c.over() {
		return sum
	}
	arg := func(i int) cost {
		if i < len(args) {
			return args[i]
		}
		return cost{}
	}
	switch e.Name {
	case "range":
		if v, ok := eval(e, ctx); ok { // numbers only, at most 1,024 of them
			return c.value(v)
		}
		return cost{}
	case "length", "tonumber", "tobool", "abs", "ceil", "floor", "max", "min", "contains":
		return cost{}
	case "distinct":
		// cty compares each element with every one kept before it
		n := arg(0).n
		c.addWork(mul(n, max(n/2, 1), c.maxWork), e.Range())
		return arg(0)
	case "sha256":
		return cost{0, 64}
	case "tostring":
		return cost{0, sum.b + slack}
	case "base64encode":
		return cost{0, c.plus(sum, sum, cost{0, 4}).b}
	case "jsonencode":
		return cost{0, c.sat(cost{0, mul(sum.b, 6, c.maxB) + mul(sum.n, slack, c.maxB) + slack}).b}
	case "replace":
		s, repl := arg(0), arg(2)
		return cost{0, c.sat(cost{0, mul(s.b+1, max(repl.b, 1), c.maxB) + s.b}).b}
	case "join":
		sep, lists := arg(0), c.plus(args[min(1, len(args)):]...)
		return cost{0, c.sat(cost{0, lists.b + mul(lists.n, sep.b, c.maxB)}).b}
	case "format", "formatlist":
		widths := 0
		if len(e.Args) > 0 {
			if v, ok := eval(e.Args[0], ctx); ok && v.Type() == cty.String {
				widths = formatWidths(v.AsString())
			} else {
				widths = c.maxB + 1
			}
		}
		one := c.sat(cost{0, sum.b + widths + mul(len(e.Args), slack, c.maxB)})
		if e.Name == "format" {
			return one
		}
		return c.sat(cost{maxN, mul(one.b, max(maxN, 1), c.maxB)})
	case "split":
		s := arg(1)
		return cost{c.sat(cost{s.b + 1, 0}).n, s.b}
	}
	return sum // the rest make at most what they are given
}

// formatWidths adds up every number in a format string: the widths and
// precisions its verbs may pad to.
func formatWidths(f string) int {
	total, n := 0, 0
	for _, r := range f + " " {
		if r >= '0' && r <= '9' {
			n = min(n*10+int(r-'0'), 1<<40)
			continue
		}
		total = min(total+n, 1<<40)
		n = 0
	}
	return total + strings.Count(f, "%")
}

// forCost measures a for expression: its collection, then its condition,
// key and value once per element, with the element bound as HCL binds it.
func (c *bounder) forCost(e *hclsyntax.ForExpr, ctx *hcl.EvalContext) cost {
	cc := c.measure(e.CollExpr, ctx)
	if cc.n > c.maxN {
		c.atN = e.SrcRange.Ptr()
	}
	if c.over() {
		return cc
	}
	coll, ok := eval(e.CollExpr, ctx)
	if !ok || coll.IsNull() || !coll.CanIterateElements() {
		return cost{}
	}
	var total cost
	for it := coll.ElementIterator(); it.Next(); {
		key, v := it.Element()
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{}
		if e.KeyVar != "" {
			child.Variables[e.KeyVar] = key
		}
		child.Variables[e.ValVar] = v
		c.iterations++
		c.addWork(1, e.SrcRange)
		k := c.plus(c.measure(e.CondExpr, child), c.measure(e.KeyExpr, child), c.measure(e.ValExpr, child))
		total = c.plus(total, cost{max(k.n, 1), k.b})
		if total.n > c.maxN || c.iterations > c.maxN {
			c.atN = e.SrcRange.Ptr()
		}
		c.overB(total, e.SrcRange)
		if c.over() {
			break
		}
	}
	if c.atN != nil {
		c.atN = e.SrcRange.Ptr() // the outermost for over the limit
	}
	if c.atW != nil {
		c.atW = e.SrcRange.Ptr()
	}
	return total
}
