package hcl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
