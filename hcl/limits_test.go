package hcl

import (
	"fmt"
	"os"
	"path/filepath"
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
		{"hosts from nested for", "cluster \"c\" {\n  node_group \"g\" {\n    hosts = flatten([for i in range(101) : [for j in range(100) : \"h${i}-${j}.example.com\"]])\n  }\n}\n", "hosts holds more than 10000 elements", 3, 5},
		{"packages concatenated", "repo \"r\" {\n  packages = concat(range(1000), flatten([for i in range(10) : range(1000)]))\n}\n", "packages holds more than 10000 elements", 2, 3},
		{"packages nested a million", "repo \"r\" {\n  packages = flatten([for i in range(1000) : range(1000)])\n}\n", "packages holds more than 10000 elements", 2, 3},
		{"datastores through a local", "locals {\n  many = flatten([for i in range(50) : range(101)])\n}\ncluster \"c\" {\n  node_group \"g\" {\n    storage {\n      datastores = concat(local.many, local.many)\n    }\n  }\n}\n", "datastores holds more than 10000", 7, 7},
		{"nested constraints", "app \"a\" {\n  constraints = [for i in range(100) : [for j in range(40) : [\"hostname\", \"UNIQUE\"]]]\n}\n", "constraints holds more than 10000 elements (nested ones counted)", 2, 3},
		{"attributes map", "cluster \"c\" {\n  node_group \"g\" {\n    attributes = { for i in flatten([for j in range(101) : range(j * 100, j * 100 + 100)]) : \"k${i}\" => \"v\" }\n  }\n}\n", "attributes holds more than 10000", 3, 5},
		{"env map", "app \"a\" {\n  env = merge([for j in range(101) : { for i in range(100) : \"K${j}_${i}\" => \"v\" }]...)\n}\n", "env holds more than 10000", 2, 3},
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
