package sitedef

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"github.com/bdebundle/bundle/internal/regular"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// EnvPrefix is the prefix of environment variables that set variables.
const EnvPrefix = "BUNDLE_VAR_"

type rawValue struct {
	expr   hcl.Expression // from a var-file or a parsed --var
	raw    string         // from --var or env, before parsing
	source string
	rng    *hcl.Range
}

// resolveVariables sets each variable's value. It returns, besides the
// diagnostics, the source ranges that hold sensitive values.
func resolveVariables(vars []*Variable, opts Options, sources map[string]*hcl.File) (hcl.Diagnostics, []hcl.Range) {
	var diags hcl.Diagnostics
	var secret []hcl.Range
	byName := map[string]*Variable{}
	for _, v := range vars {
		byName[v.Name] = v
		v.Type = cty.DynamicPseudoType
		if v.Sensitive && v.DefaultExpr != nil && !isNullExpr(v.DefaultExpr) {
			secret = append(secret, v.DefaultExpr.Range())
		}
		if v.TypeExpr != nil && !isNullExpr(v.TypeExpr) {
			ty, ds := typeexpr.TypeConstraint(v.TypeExpr)
			diags = append(diags, ds...)
			if !ds.HasErrors() {
				v.Type = ty
			}
		}
	}
	raw := map[string]rawValue{}
	for _, kv := range opts.Env {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, EnvPrefix)
		if byName[name] == nil {
			continue // like Terraform: unknown env vars are ignored
		}
		raw[name] = rawValue{raw: val, source: "env " + k}
	}
	for _, vf := range opts.VarFiles {
		src, err := regular.ReadFile(vf, MaxFileSize)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read variable file", Detail: fmt.Sprintf("reading %q: %v", vf, err)})
			continue
		}
		f, ds := hclparse.NewParser().ParseHCL(src, vf)
		diags = append(diags, ds...)
		if f != nil {
			sources[vf] = f
		}
		if ds.HasErrors() {
			// Which bytes hold which variable's value is not known in a
			// file that does not parse: with a sensitive variable
			// declared, its snippets show the names, never a value.
			for _, v := range vars {
				if v.Sensitive {
					secret = append(secret, valueRanges(vf, src)...)
					break
				}
			}
			continue
		}
		attrs, ds := f.Body.JustAttributes()
		diags = append(diags, ds...)
		names := make([]string, 0, len(attrs))
		for n := range attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			a := attrs[n]
			if byName[n] == nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
					Detail: fmt.Sprintf("The variable file sets %q, but no variable %q is declared.%s", n, n, didYouMean(n, keys(byName))), Subject: a.NameRange.Ptr()})
				continue
			}
			raw[n] = rawValue{expr: a.Expr, source: "var-file " + vf, rng: a.Expr.Range().Ptr()}
			if byName[n].Sensitive {
				secret = append(secret, a.Expr.Range())
			}
		}
	}
	for _, kv := range opts.Vars {
		n, val, ok := strings.Cut(kv, "=")
		if !ok || n == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid --var option",
				Detail: fmt.Sprintf("The option %q is not of the form name=value.", kv)})
			continue
		}
		if byName[n] == nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
				Detail: fmt.Sprintf("--var sets %q, but no variable %q is declared.%s", n, n, didYouMean(n, keys(byName)))})
			continue
		}
		raw[n] = rawValue{raw: val, source: "--var " + n}
	}
	for _, v := range vars {
		r, given := raw[v.Name]
		var val cty.Value
		switch {
		case given && r.expr != nil:
			ds := checkForSize(r.expr, nil)
			if !ds.HasErrors() {
				val, ds = r.expr.Value(nil)
			}
			diags = append(diags, ds...)
			if ds.HasErrors() {
				continue
			}
		case given:
			if v.Type == cty.String || v.Type == cty.DynamicPseudoType {
				val = cty.StringVal(r.raw)
			} else {
				e, ds := hclsyntax.ParseExpression([]byte(r.raw), "<value for var."+v.Name+">", hcl.InitialPos)
				if ds.HasErrors() {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
						Detail: fmt.Sprintf("The value given by %s for variable %q is not a valid expression: %s", r.source, v.Name, ds.Error()), Subject: v.DeclRange.Ptr()})
					continue
				}
				ds2 := checkForSize(e, nil)
				if !ds2.HasErrors() {
					val, ds2 = e.Value(nil)
				}
				if ds2.HasErrors() {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
						Detail: fmt.Sprintf("The value given by %s for variable %q cannot be evaluated: %s", r.source, v.Name, ds2.Error()), Subject: v.DeclRange.Ptr()})
					continue
				}
			}
		case v.DefaultExpr != nil && !isNullExpr(v.DefaultExpr):
			ds := checkForSize(v.DefaultExpr, nil)
			if !ds.HasErrors() {
				val, ds = v.DefaultExpr.Value(nil)
			}
			diags = append(diags, ds...)
			if ds.HasErrors() {
				continue
			}
			r = rawValue{source: "default", rng: v.DefaultExpr.Range().Ptr()}
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail:  fmt.Sprintf("The variable %q has no default, so a value must be given with --var %s=..., --var-file, or the environment variable %s%s.", v.Name, v.Name, EnvPrefix, v.Name),
				Subject: v.DeclRange.Ptr()})
			continue
		}
		if ds := checkValueBytes(val, "The value of variable "+v.Name, v.DeclRange.Ptr()); ds.HasErrors() {
			diags = append(diags, ds...)
			continue
		}
		cv, err := convert.Convert(val, v.Type)
		if err != nil {
			subj := r.rng
			if subj == nil {
				subj = v.DeclRange.Ptr()
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail: fmt.Sprintf("The value from %s for variable %q is not a %s: %s.", r.source, v.Name, v.Type.FriendlyName(), err), Subject: subj})
			continue
		}
		v.Value, v.Source = cv, r.source
		for _, rule := range v.Validations {
			ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.Name: cv})}, Functions: functions()}
			ds := checkForSize(rule.Condition, ctx)
			var res cty.Value
			if !ds.HasErrors() {
				res, ds = rule.Condition.Value(ctx)
			}
			if ds.HasErrors() {
				diags = append(diags, ds...)
				continue
			}
			if res.IsNull() || !res.Type().Equals(cty.Bool) || !res.IsKnown() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid validation condition",
					Detail: "The condition must be a boolean expression.", Subject: rule.Condition.Range().Ptr()})
				continue
			}
			if res.False() {
				// The message never includes the value: it may be sensitive.
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
					Detail:  fmt.Sprintf("%s\n\nThis was checked by the validation rule at %s (value from %s).", rule.ErrorMessage, rule.DeclRange, r.source),
					Subject: rule.Condition.Range().Ptr()})
			}
		}
	}
	return diags, secret
}

func isNullExpr(e hcl.Expression) bool {
	if e == nil {
		return true
	}
	// gohcl gives optional attributes that are absent a synthetic null expression.
	if e.Range().Empty() {
		v, diags := e.Value(nil)
		return !diags.HasErrors() && v.IsNull()
	}
	return false
}

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// evalLocals evaluates locals in dependency order, reporting cycles.
func evalLocals(attrs []*hcl.Attribute, vars map[string]cty.Value, sensitiveVars map[string]bool) (map[string]cty.Value, map[string]bool, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	byName := map[string]*hcl.Attribute{}
	for _, a := range attrs {
		if prev, ok := byName[a.Name]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate local value",
				Detail: fmt.Sprintf("A local value named %q was already defined at %s.", a.Name, prev.NameRange), Subject: a.NameRange.Ptr()})
			continue
		}
		byName[a.Name] = a
	}
	vals := map[string]cty.Value{}
	sensitive := map[string]bool{}
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	failed := map[string]bool{}
	var visit func(name string, path []string) bool
	visit = func(name string, path []string) bool {
		a := byName[name]
		switch state[name] {
		case 2:
			return !failed[name] // a local that failed is reported once, not again by each that uses it
		case 1:
			cycle := append(path[indexOf(path, name):], name)
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cycle in local values",
				Detail: "These local values refer to each other in a loop: local." + strings.Join(cycle, " → local.") + ".", Subject: a.Expr.Range().Ptr()})
			return false
		}
		state[name] = 1
		ok := true
		for _, t := range a.Expr.Variables() {
			if t.RootName() != "local" || len(t) < 2 {
				continue
			}
			ta, isAttr := t[1].(hcl.TraverseAttr)
			if !isAttr {
				continue
			}
			if byName[ta.Name] == nil {
				continue // reported when evaluating
			}
			if !visit(ta.Name, append(path, name)) {
				ok = false
			}
			if sensitive[ta.Name] {
				sensitive[name] = true
			}
		}
		state[name] = 2
		if !ok {
			failed[name] = true
			return false
		}
		if refersSensitive(a.Expr, sensitiveVars, nil) {
			sensitive[name] = true
		}
		// Only the locals the expression refers to go into its context:
		// a context of every local would make long chains quadratic.
		refs := map[string]cty.Value{}
		for _, t := range a.Expr.Variables() {
			if t.RootName() != "local" || len(t) < 2 {
				continue
			}
			if ta, ok := t[1].(hcl.TraverseAttr); ok {
				if v, ok := vals[ta.Name]; ok {
					refs[ta.Name] = v
				}
			}
		}
		lctx := evalContext(vars, refs)
		if ds := checkForSize(a.Expr, lctx); ds.HasErrors() {
			diags = append(diags, ds...)
			failed[name] = true
			return false
		}
		v, ds := a.Expr.Value(lctx)
		if !ds.HasErrors() {
			ds = checkValueBytes(v, "local."+name, a.Expr.Range().Ptr())
		}
		diags = append(diags, ds...)
		if ds.HasErrors() {
			failed[name] = true
			return false
		}
		vals[name] = v
		return true
	}
	for _, n := range keys(byName) {
		visit(n, nil)
	}
	return vals, sensitive, diags
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return 0
}

func evalContext(vars, locals map[string]cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(vars),
			"local": cty.ObjectVal(locals),
		},
		Functions: functions(),
	}
}

func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"max": stdlib.MaxFunc, "min": stdlib.MinFunc,
		"upper": stdlib.UpperFunc, "lower": stdlib.LowerFunc, "format": stdlib.FormatFunc,
		"formatlist": stdlib.FormatListFunc, "join": stdlib.JoinFunc, "split": stdlib.SplitFunc,
		"replace": stdlib.ReplaceFunc, "trimspace": stdlib.TrimSpaceFunc, "substr": stdlib.SubstrFunc,
		"concat": stdlib.ConcatFunc, "length": lengthFunc, "range": stdlib.RangeFunc,
		"merge": stdlib.MergeFunc, "keys": stdlib.KeysFunc, "values": stdlib.ValuesFunc,
		"lookup": stdlib.LookupFunc, "element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc,
		"distinct": stdlib.DistinctFunc, "sort": stdlib.SortFunc, "contains": stdlib.ContainsFunc,
		"coalesce": stdlib.CoalesceFunc, "tostring": stdlib.MakeToFunc(cty.String),
		"tonumber": stdlib.MakeToFunc(cty.Number), "tobool": stdlib.MakeToFunc(cty.Bool),
		"regex": stdlib.RegexFunc, "jsonencode": stdlib.JSONEncodeFunc,
		"base64encode": base64EncodeFunc, "sha256": sha256Func,
	}
}

// base64EncodeFunc is base64encode(): a string's standard base64 encoding.
var base64EncodeFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

// sha256Func is sha256(): the hex SHA-256 of a string.
var sha256Func = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		sum := sha256.Sum256([]byte(args[0].AsString()))
		return cty.StringVal(hex.EncodeToString(sum[:])), nil
	},
})

// lengthFunc is length() for strings (in characters) and collections alike.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		if args[0].Type() == cty.String {
			return stdlib.Strlen(args[0])
		}
		return stdlib.Length(args[0])
	},
})

// redact replaces sensitive variables (and locals derived from them) in the
// evaluation contexts attached to diags, so that rendering a diagnostic never
// shows their values.
func redact(diags hcl.Diagnostics, vars, locals map[string]bool) {
	if len(vars) == 0 && len(locals) == 0 {
		return
	}
	hide := func(obj cty.Value, names map[string]bool) cty.Value {
		if obj.IsNull() || !obj.Type().IsObjectType() || !obj.IsKnown() {
			return obj
		}
		m := obj.AsValueMap()
		for n := range names {
			if _, ok := m[n]; ok {
				m[n] = cty.StringVal("(sensitive value)")
			}
		}
		return cty.ObjectVal(m)
	}
	for _, d := range diags {
		if d.EvalContext == nil {
			continue
		}
		nc := &hcl.EvalContext{Functions: d.EvalContext.Functions, Variables: map[string]cty.Value{}}
		for k, v := range d.EvalContext.Variables {
			switch k {
			case "var":
				v = hide(v, vars)
			case "local":
				v = hide(v, locals)
			}
			nc.Variables[k] = v
		}
		d.EvalContext = nc
	}
}

// valueRanges returns, for each line of src, the range of what may be a
// value: after the first '=' (from its first non-blank byte), or the whole
// line when it has none (a value continued from an earlier line).
func valueRanges(filename string, src []byte) []hcl.Range {
	var out []hcl.Range
	for start := 0; start < len(src); {
		end := start
		for end < len(src) && src[end] != '\n' {
			end++
		}
		from := start
		if i := strings.IndexByte(string(src[start:end]), '='); i >= 0 {
			from = start + i + 1
		}
		for from < end && (src[from] == ' ' || src[from] == '\t') {
			from++
		}
		if from < end {
			out = append(out, hcl.Range{Filename: filename, Start: hcl.Pos{Byte: from}, End: hcl.Pos{Byte: end}})
		}
		start = end + 1
	}
	return out
}
