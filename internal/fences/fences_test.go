package fences

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

const mod = "github.com/bdebundle/bundle"

// pkg is the part of `go list -json` the fences read.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// list runs `go list -json ./...` in the module root: every package of the
// module with its direct imports and transitive deps (test files excluded),
// for the build context of this test run.
func list(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = testutil.ModuleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

// under reports whether path is prefix or a package below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func TestImportFences(t *testing.T) {
	pkgs := list(t)
	tests := []struct {
		rule      string
		from      string   // the packages under this path...
		forbidden []string // ...depend on none of these packages or those below them
		exact     []string // ...nor on these packages
	}{
		{"the compiler is pure", mod + "/compiler", []string{mod + "/repo", mod + "/images", mod + "/out", mod + "/pipeline"}, []string{"net", "net/http", "os/exec"}},
		{"hcl is the first stage", mod + "/hcl", []string{mod + "/compiler", mod + "/repo", mod + "/images", mod + "/out", mod + "/pipeline"}, nil},
		{"repo does not reach forward", mod + "/repo", []string{mod + "/compiler", mod + "/images", mod + "/out", mod + "/pipeline"}, nil},
		{"images do not reach forward", mod + "/images", []string{mod + "/out", mod + "/pipeline"}, nil},
		{"out does not reach back to the composition root", mod + "/out", []string{mod + "/pipeline"}, nil},
		{"no library imports the CLI", mod + "/pipeline", []string{mod + "/cmd"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			n := 0
			for path, p := range pkgs {
				if !under(path, tt.from) {
					continue
				}
				n++
				for _, d := range p.Deps {
					for _, f := range tt.forbidden {
						if under(d, f) {
							t.Errorf("%s depends on %s", path, d)
						}
					}
					if slices.Contains(tt.exact, d) {
						t.Errorf("%s depends on %s", path, d)
					}
				}
			}
			if n == 0 {
				t.Fatalf("no package under %s", tt.from)
			}
		})
	}
	// No package outside cmd imports one inside it.
	for path, p := range pkgs {
		if under(path, mod+"/cmd") {
			continue
		}
		for _, d := range p.Deps {
			if under(d, mod+"/cmd") {
				t.Errorf("%s depends on the CLI package %s", path, d)
			}
		}
	}
}

func TestOnlyVCenterImportsGovmomi(t *testing.T) {
	allowed := []string{
		mod + "/out/vcenter",
		mod + "/internal/cmd/govc",  // govc stand-in for the demo and tests
		mod + "/internal/cmd/vcsim", // the vCenter simulator for the demo
	}
	found := false
	for path, p := range list(t) {
		for _, imp := range p.Imports {
			if !under(imp, "github.com/vmware/govmomi") {
				continue
			}
			if path == mod+"/out/vcenter" {
				found = true
			}
			if !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s; only out/vcenter talks to vCenter", path, imp)
			}
		}
	}
	if !found {
		t.Error("out/vcenter imports no govmomi package; the fence checks nothing")
	}
}

// printer names what a call or selector prints to the process's output, or "".
func printer(n ast.Node, fmtName, osName, logName string) string {
	switch n := n.(type) {
	case *ast.CallExpr:
		if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println") && id.Obj == nil {
			return id.Name
		}
	case *ast.SelectorExpr:
		x, ok := n.X.(*ast.Ident)
		if !ok {
			return ""
		}
		switch {
		case x.Name == fmtName && strings.HasPrefix(n.Sel.Name, "Print"):
			return "fmt." + n.Sel.Name
		case x.Name == osName && (n.Sel.Name == "Stdout" || n.Sel.Name == "Stderr"):
			return "os." + n.Sel.Name
		case x.Name == logName && (strings.HasPrefix(n.Sel.Name, "Print") || strings.HasPrefix(n.Sel.Name, "Fatal") || strings.HasPrefix(n.Sel.Name, "Panic")):
			return "log." + n.Sel.Name
		}
	}
	return ""
}

// printsIn returns "file:line: what" for each print in the Go source src.
func printsIn(t *testing.T, name string, src any) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{"fmt": "", "os": "", "log": ""}
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		if _, ok := names[p]; !ok {
			continue
		}
		names[p] = p
		if imp.Name != nil {
			names[p] = imp.Name.Name
		}
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		if what := printer(n, names["fmt"], names["os"], names["log"]); what != "" {
			found = append(found, fset.Position(n.Pos()).String()+": "+what)
		}
		return true
	})
	return found
}

func TestNothingBelowCmdPrints(t *testing.T) {
	files := 0
	for path, p := range list(t) {
		if under(path, mod+"/cmd") || under(path, mod+"/internal/cmd") {
			continue // commands own their output
		}
		for _, f := range p.GoFiles {
			files++
			for _, hit := range printsIn(t, filepath.Join(p.Dir, f), nil) {
				t.Errorf("%s prints; libraries report through errors, slog and progress.Reporter", hit)
			}
		}
	}
	if files < 50 {
		t.Fatalf("scanned %d library files; the module has more", files)
	}
}

// TestPrintScanner shows the scanner catches each kind of print.
func TestPrintScanner(t *testing.T) {
	tests := []struct {
		name, src string
		want      int
	}{
		{"fmt.Println", `package p; import "fmt"; func f() { fmt.Println("x") }`, 1},
		{"renamed fmt", `package p; import f "fmt"; func g() { f.Printf("x") }`, 1},
		{"os.Stdout", `package p; import ("fmt"; "os"); func f() { fmt.Fprintln(os.Stdout, "x") }`, 1},
		{"os.Stderr", `package p; import "os"; var w = os.Stderr`, 1},
		{"log.Printf", `package p; import "log"; func f() { log.Printf("x") }`, 1},
		{"builtin println", `package p; func f() { println("x") }`, 1},
		{"writer", `package p; import ("fmt"; "io"); func f(w io.Writer) { fmt.Fprintf(w, "x"); _ = fmt.Sprint(1) }`, 0},
		{"other Stdout", `package p; type s struct{ Stdout int }; func f(os s) int { return os.Stdout }`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := printsIn(t, "x.go", tt.src); len(got) != tt.want {
				t.Errorf("found %q, want %d", got, tt.want)
			}
		})
	}
}
