package sitedef

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// TestLongLocalChain: a long chain of locals loads in linear time (each
// local is evaluated with only the locals it names; with every local in its
// context, 20000 took minutes).
func TestLongLocalChain(t *testing.T) {
	var b strings.Builder
	b.WriteString("bundle \"q\" {\n  version = \"1\"\n}\nlocals {\n  l0 = \"x\"\n")
	const n = 20000
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  l%d = local.l%d\n", i, i-1)
	}
	b.WriteString("}\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, diags := Load(dir, Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("loading %d chained locals took %v", n, took)
	}
	if v := d.Locals[fmt.Sprintf("l%d", n-1)]; v.AsString() != "x" {
		t.Errorf("the last local is %#v", v)
	}
}

// TestNestingLimit: nesting is refused at the bracket that goes too deep,
// and strings and comments full of brackets are not counted.
func TestNestingLimit(t *testing.T) {
	cases := []struct {
		src  string
		line int // 0: accepted
	}{
		{"a = \"" + strings.Repeat("[", 200) + "\"\n# " + strings.Repeat("{", 200) + "\n/* " + strings.Repeat("(", 200) + " */\n", 0},
		{"a = " + strings.Repeat("[", 64) + strings.Repeat("]", 64) + "\n", 0},
		{"\na = " + strings.Repeat("[", 65) + strings.Repeat("]", 65) + "\n", 2},
	}
	for _, tc := range cases {
		ds := checkNesting([]byte(tc.src), "x.hcl")
		switch {
		case tc.line == 0 && ds.HasErrors():
			t.Errorf("refused: %v", ds)
		case tc.line != 0 && (!ds.HasErrors() || ds[0].Subject.Start.Line != tc.line):
			t.Errorf("want an error at line %d, got %v", tc.line, ds)
		}
	}
}

// TestSizeLimits: instances counts and list attributes beyond the limits are
// refused at the attribute (file:line:col) before decoding.
func TestSizeLimits(t *testing.T) {
	cases := []struct {
		name, body string
		want       string // "" accepted (by the limits)
		line, col  int
	}{
		{"node group instances", "cluster \"c\" {\n  node_group \"g\" {\n    instances = 10001\n  }\n}\n", "instances is 10001; at most 10000", 3, 5},
		{"app instances", "app \"a\" {\n  instances = 1e12\n}\n", "instances is 1e+12; at most 10000", 2, 3},
		{"instances at the limit", "app \"a\" {\n  instances = 10000\n}\n", "", 0, 0},
		{"hosts from nested for", "cluster \"c\" {\n  node_group \"g\" {\n    hosts = flatten([for i in range(101) : [for j in range(100) : \"h${i}-${j}.example.com\"]])\n  }\n}\n", "for expression builds more than 10000 elements", 3, 21},
		{"packages concatenated", "repo \"r\" {\n  packages = concat(range(1000), flatten([for i in range(10) : range(1000)]))\n}\n", "packages holds more than 10000 elements", 2, 3},
		{"packages nested a million", "repo \"r\" {\n  packages = flatten([for i in range(1000) : range(1000)])\n}\n", "for expression builds more than 10000 elements", 2, 22},
		{"datastores through a local", "locals {\n  many = flatten([for i in range(50) : range(101)])\n}\ncluster \"c\" {\n  node_group \"g\" {\n    storage {\n      datastores = concat(local.many, local.many)\n    }\n  }\n}\n", "datastores holds more than 10000", 7, 7},
		{"nested constraints", "app \"a\" {\n  constraints = [for i in range(100) : [for j in range(40) : [\"hostname\", \"UNIQUE\"]]]\n}\n", "constraints holds more than 10000 elements (nested ones counted)", 2, 3},
		{"attributes map", "cluster \"c\" {\n  node_group \"g\" {\n    attributes = { for i in flatten([for j in range(101) : range(j * 100, j * 100 + 100)]) : \"k${i}\" => \"v\" }\n  }\n}\n", "for expression builds more than 10000", 3, 18},
		{"env map", "app \"a\" {\n  env = merge([for j in range(101) : { for i in range(100) : \"K${j}_${i}\" => \"v\" }]...)\n}\n", "for expression builds more than 10000", 2, 15},
		{"list at the limit", "repo \"r\" {\n  packages = flatten([for i in range(100) : range(100)])\n}\n", "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "bundle \"q\" {\n  version = \"1\"\n}\n" + c.body
			if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, diags := Load(dir, Options{})
			if took := time.Since(start); took > time.Minute {
				t.Errorf("Load took %v", took)
			}
			var hit *hcl.Diagnostic
			for _, d := range diags {
				if strings.Contains(d.Summary, "Too many") || strings.Contains(d.Summary, "too long") {
					hit = d
				}
			}
			if c.want == "" {
				if hit != nil {
					t.Fatalf("refused: %v", hit)
				}
				return
			}
			if hit == nil || !strings.Contains(hit.Detail, c.want) {
				t.Fatalf("want a diagnostic with %q, got %v", c.want, diags)
			}
			if hit.Subject == nil || !strings.HasSuffix(hit.Subject.Filename, "site.hcl") || hit.Subject.Start.Line != c.line+3 || hit.Subject.Start.Column != c.col {
				t.Fatalf("diagnostic at %v, want site.hcl:%d:%d", hit.Subject, c.line+3, c.col)
			}
		})
	}
}

// TestForExpressionBound: nested for expressions over big literal lists are
// refused at the for expression before HCL builds their product, wherever
// they stand (attribute, local, variable default, var file, template), and
// loading them takes neither the memory nor the time of the product. The
// product here is 300,000 elements (30 times the limit): without the bound
// it is built in full, a few hundred MB.
func TestForExpressionBound(t *testing.T) {
	list := func(n int, prefix string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf("%q", fmt.Sprintf("%s%d", prefix, i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	outer, inner := list(1000, "a"), list(300, "b")
	nested := "[for a in " + outer + " : [for b in " + inner + " : \"${a}${b}\"]]"
	groups := make([]string, 100)
	for i := range groups {
		groups[i] = fmt.Sprintf("{ name = \"g%d\", hosts = %s }", i, list(5, fmt.Sprintf("h%d-", i)))
	}
	cases := []struct {
		name     string
		body     string
		varFile  string
		refused  bool
		at       string // the refused for expression starts with this text
		inVarDir bool
	}{
		{name: "attribute", body: "app \"a\" {\n  constraints = " + nested + "\n}\n", refused: true, at: "[for a in"},
		{name: "local", body: "locals {\n  x = " + nested + "\n}\n", refused: true, at: "[for a in"},
		{name: "variable default", body: "variable \"v\" {\n  default = " + nested + "\n}\n", refused: true, at: "[for a in"},
		{name: "var file", body: "variable \"v\" {\n}\n", varFile: "v = " + nested + "\n", refused: true, at: "[for a in"},
		{name: "template directives", body: "locals {\n  x = \"%{for a in " + outer + "}%{for b in " + inner + "}${a}${b}%{endfor}%{endfor}\"\n}\n", refused: true, at: "%{for a in"},
		{name: "through locals", body: "locals {\n  o = " + outer + "\n  i = " + inner + "\n  x = [for a in local.o : { for b in local.i : \"${a}${b}\" => b }]\n}\n", refused: true, at: "[for a in local.o"},
		{name: "filtered, the iterations counted", body: "locals {\n  x = [for a in " + outer + " : [for b in " + inner + " : b if b == a]]\n}\n", refused: true, at: "[for a in"},
		{name: "groups and their hosts", body: "locals {\n  groups = [" + strings.Join(groups, ", ") + "]\n  x = flatten([for g in local.groups : [for h in g.hosts : \"${g.name}/${h}\"]])\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "bundle \"q\" {\n  version = \"1\"\n}\n" + tc.body
			if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			var opts Options
			file, text := "site.hcl", src
			if tc.varFile != "" {
				p := filepath.Join(t.TempDir(), "x.vars.hcl")
				if err := os.WriteFile(p, []byte(tc.varFile), 0o644); err != nil {
					t.Fatal(err)
				}
				opts.VarFiles = []string{p}
				file, text = "x.vars.hcl", tc.varFile
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, diags := Load(dir, opts)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: %v, %.1f MiB allocated", tc.name, took.Round(time.Millisecond), float64(alloc)/(1<<20))
			var hit *hcl.Diagnostic
			for _, d := range diags {
				if strings.Contains(d.Detail, "for expression builds more than") {
					hit = d
				}
			}
			if !tc.refused {
				if diags.HasErrors() {
					t.Fatalf("refused: %v", diags)
				}
				return
			}
			if hit == nil {
				t.Fatalf("not refused at the for expression: %v", diags)
			}
			i := strings.Index(text, tc.at)
			line := strings.Count(text[:i], "\n") + 1
			col := i - strings.LastIndex(text[:i], "\n")
			if hit.Subject == nil || filepath.Base(hit.Subject.Filename) != file || hit.Subject.Start.Line != line || hit.Subject.Start.Column != col {
				t.Errorf("diagnostic at %v, want %s:%d:%d", hit.Subject, file, line, col)
			}
			if alloc > 64<<20 {
				t.Errorf("loading allocated %.0f MiB: the product was built", float64(alloc)/(1<<20))
			}
			if took > 20*time.Second {
				t.Errorf("loading took %v", took)
			}
		})
	}
}

// TestValueBytesLimit: a value holding more than MaxValueBytes of strings
// is refused where it is made, once: 22 locals that each double the last
// stop at the first over the limit, in milliseconds, without an error for
// each local that uses it. (Without the limit they hold 128 MiB; thirty
// would hold 32 GiB, and the loader ran out of memory.)
func TestValueBytesLimit(t *testing.T) {
	var chain strings.Builder
	chain.WriteString("locals {\n  a0 = \"xxxxxxxxxxxxxxxx\"\n")
	for i := 1; i <= 22; i++ {
		fmt.Fprintf(&chain, "  a%d = \"${local.a%d}${local.a%d}\"\n", i, i-1, i-1)
	}
	chain.WriteString("}\n")
	kib := strings.Repeat("k", 1024)
	cases := []struct {
		name, body, varFile string
		refused             bool
	}{
		{name: "locals doubling", body: chain.String(), refused: true},
		{name: "attribute joined from a for", body: "bundle \"q\" {\n  version = \"1\"\n  description = join(\"\", [for i in range(1000) : \"${local.k}${local.k}\"])\n}\nlocals {\n  k = \"" + kib + "\"\n}\n", refused: true},
		{name: "var file value", body: "variable \"v\" {\n}\n", varFile: "v = \"" + strings.Repeat("v", MaxValueBytes+1) + "\"\n", refused: true},
		// One expression that multiplies: refused before it is evaluated
		// (each would allocate 64 to 256 MiB; with a 1 MiB local, a
		// replace would be a terabyte).
		{name: "replace by itself", body: "locals {\n  k = join(\"\", [for i in range(16) : \"" + kib + "\"])\n  r = replace(local.k, \"k\", local.k)\n}\n", refused: true},
		{name: "template naming a local a thousand times", body: "locals {\n  k = join(\"\", [for i in range(64) : \"" + kib + "\"])\n  t = \"" + strings.Repeat("${local.k}", 1000) + "\"\n}\n", refused: true},
		{name: "format widths", body: "locals {\n  f = format(\"" + strings.Repeat("%900000d", 100) + "\"" + strings.Repeat(", 1", 100) + ")\n}\n", refused: true},
		{name: "join with a long separator", body: "locals {\n  k = join(\"\", [for i in range(64) : \"" + kib + "\"])\n  j = join(local.k, range(1000))\n}\n", refused: true},
		{name: "half the limit", body: "bundle \"q\" {\n  version = \"1\"\n  description = join(\"\", [for i in range(512) : local.k])\n}\nlocals {\n  k = \"" + kib + "\"\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := tc.body
			if !strings.HasPrefix(src, "bundle") {
				src = "bundle \"q\" {\n  version = \"1\"\n}\n" + src
			}
			if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			var opts Options
			if tc.varFile != "" {
				p := filepath.Join(t.TempDir(), "x.vars.hcl")
				if err := os.WriteFile(p, []byte(tc.varFile), 0o644); err != nil {
					t.Fatal(err)
				}
				opts.VarFiles = []string{p}
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, diags := Load(dir, opts)
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("Load took %v", took)
			}
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("loading allocated %.0f MiB", float64(alloc)/(1<<20))
			}
			var hits, errs int
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs++
				}
				if d.Summary == "Value too large" {
					hits++
				}
			}
			if !tc.refused {
				if errs > 0 {
					t.Fatalf("refused: %v", diags)
				}
				return
			}
			if hits != 1 || errs != 1 {
				for _, d := range diags {
					t.Log(d)
				}
				t.Fatalf("want one error, Value too large; got %d", len(diags))
			}
		})
	}
}

// TestWorkBound: an expression whose evaluation walks too much is refused
// at its outermost for expression before it is evaluated, though it builds
// little: 110 bytes of locals filtering a list of 9,000 elements with
// contains over itself took 40 s (190 s in the report) to load, then
// passed. Its cousins within the bound load.
func TestWorkBound(t *testing.T) {
	hosts := make([]string, 2000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("%q", fmt.Sprintf("h%d", i))
	}
	cases := []struct {
		name, locals string
		refused      bool
		at           string
	}{
		{"contains over the list being filtered", "  a = [for i in range(999) : [for j in range(9) : j]]\n  b = [for x in local.a : x if contains(local.a, x)]\n", true, "[for x in local.a"},
		{"contains in a nested for", "  a = range(1000)\n  b = [for x in local.a : [for y in range(5) : y if contains(local.a, y)]]\n", true, "[for x in local.a"},
		{"distinct of 9,000 elements (quadratic in cty)", "  a = [for i in range(999) : [for j in range(9) : j]]\n  b = distinct(flatten(local.a))\n", true, "distinct("},
		{"contains over a small list", "  hosts = [" + strings.Join(hosts, ", ") + "]\n  masters = [\"h1\", \"h2\", \"h3\"]\n  b = [for h in local.hosts : h if contains(local.masters, h)]\n", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "bundle \"q\" {\n  version = \"1\"\n}\nlocals {\n" + tc.locals + "}\n"
			if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := Load(dir, Options{})
			var hit *hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == "Expression too costly" {
					hit = d
				}
			}
			if !tc.refused {
				if diags.HasErrors() {
					t.Fatalf("refused: %v", diags)
				}
				return
			}
			if hit == nil {
				t.Fatalf("not refused as too costly: %v", diags)
			}
			i := strings.Index(src, tc.at)
			line, col := strings.Count(src[:i], "\n")+1, i-strings.LastIndex(src[:i], "\n")
			if hit.Subject == nil || hit.Subject.Start.Line != line || hit.Subject.Start.Column != col {
				t.Errorf("diagnostic at %v, want site.hcl:%d:%d", hit.Subject, line, col)
			}
		})
	}
}
