package fences

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

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

// policyHits returns "file:line: what" for each piece of a project-wide
// policy in the Go source src: a loopback test (the plain-HTTP policy,
// internal/plainhttp) or a connection error compared by its errno (the
// retry policy, internal/retry).
func policyHits(t *testing.T, name string, src any) (plainHTTP, retry []string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		at := fset.Position(n.Pos()).String()
		if sel.Sel.Name == "IsLoopback" {
			plainHTTP = append(plainHTTP, at+": IsLoopback")
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "syscall" && slices.Contains([]string{"ECONNRESET", "ECONNREFUSED", "EPIPE"}, sel.Sel.Name) {
			retry = append(retry, at+": syscall."+sel.Sel.Name)
		}
		return true
	})
	return plainHTTP, retry
}

// TestOnePlainHTTPAndRetryPolicy: which hosts may be spoken to without
// TLS is decided in internal/plainhttp only, and which network failures
// are worth another try in internal/retry only; every other library
// package calls them.
func TestOnePlainHTTPAndRetryPolicy(t *testing.T) {
	var plainIn, retryIn []string
	for path, p := range list(t) {
		if under(path, mod+"/internal/cmd") {
			continue // the demo's stand-ins
		}
		for _, f := range p.GoFiles {
			ph, rh := policyHits(t, filepath.Join(p.Dir, f), nil)
			if len(ph) > 0 {
				plainIn = append(plainIn, path)
			}
			if len(rh) > 0 {
				retryIn = append(retryIn, path)
			}
			if path != mod+"/internal/plainhttp" {
				for _, h := range ph {
					t.Errorf("%s: a plain-HTTP rule of its own; use internal/plainhttp", h)
				}
			}
			if path != mod+"/internal/retry" {
				for _, h := range rh {
					t.Errorf("%s: a retry predicate of its own; use internal/retry", h)
				}
			}
		}
	}
	if !slices.Contains(plainIn, mod+"/internal/plainhttp") || !slices.Contains(retryIn, mod+"/internal/retry") {
		t.Errorf("the policies were not found where they live (plain HTTP in %q, retry in %q): the scanner checks nothing", plainIn, retryIn)
	}
}

// TestPolicyScanner shows the scanner finds each kind of policy code.
func TestPolicyScanner(t *testing.T) {
	for _, tt := range []struct {
		name, src       string
		plain, retryErr int
	}{
		{"loopback", `package p; import "net"; func f(h string) bool { return net.ParseIP(h).IsLoopback() }`, 1, 0},
		{"errno", `package p; import ("errors"; "syscall"); func f(err error) bool { return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) }`, 0, 2},
		{"callers", `package p; import ("github.com/bdebundle/bundle/internal/plainhttp"; "github.com/bdebundle/bundle/internal/retry"); func f(h string, err error) bool { return plainhttp.Loopback(h) && retry.Transient(err) }`, 0, 0},
	} {
		ph, rh := policyHits(t, "x.go", tt.src)
		if len(ph) != tt.plain || len(rh) != tt.retryErr {
			t.Errorf("%s: found %q and %q, want %d and %d", tt.name, ph, rh, tt.plain, tt.retryErr)
		}
	}
}

// vcenterFuncsAllowed are the func-valued fields and parameters out/vcenter
// may take: sinks and plumbing, not steps of the deploy. The event sink,
// the HTTP transport wrapper and the environment reader.
var vcenterFuncsAllowed = []string{"Options.Events", "Config.WrapTransport", "ResolveTarget.env"}

// TestVCenterTakesNoHooks: pipeline sequences the deploy's steps (verify,
// vCenter's, the image push); out/vcenter calls back into none of them. No
// exported struct field, function or method parameter of out/vcenter is
// func-valued but vcenterFuncsAllowed.
func TestVCenterTakesNoHooks(t *testing.T) {
	p, ok := list(t)[mod+"/out/vcenter"]
	if !ok {
		t.Fatal("out/vcenter not found")
	}
	var seen []string
	for _, f := range p.GoFiles {
		for _, h := range funcHooks(t, filepath.Join(p.Dir, f), nil) {
			seen = append(seen, h)
			if !slices.Contains(vcenterFuncsAllowed, h) {
				t.Errorf("out/vcenter takes the func-valued %s: a step of the deploy belongs in pipeline, which sequences vcenter's steps", h)
			}
		}
	}
	if !slices.Contains(seen, "Options.Events") {
		t.Errorf("the scanner found %q, not even Options.Events: it checks nothing", seen)
	}
}

// funcHooks names the func-valued exported fields of exported structs
// (Type.Field) and parameters of exported functions and methods
// (Func.param) in the Go file name (or src).
func funcHooks(t *testing.T, name string, src any) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	isFunc := func(e ast.Expr) bool { _, ok := e.(*ast.FuncType); return ok }
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, s := range d.Specs {
				ts, ok := s.(*ast.TypeSpec)
				if !ok || !ts.Name.IsExported() {
					continue
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fl := range st.Fields.List {
					for _, n := range fl.Names {
						if n.IsExported() && isFunc(fl.Type) {
							out = append(out, ts.Name.Name+"."+n.Name)
						}
					}
				}
			}
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			for _, fl := range d.Type.Params.List {
				for _, n := range fl.Names {
					if isFunc(fl.Type) {
						out = append(out, d.Name.Name+"."+n.Name)
					}
				}
			}
		}
	}
	return out
}

// TestFuncHookScanner shows the scanner finds func-valued fields and
// parameters and passes the rest.
func TestFuncHookScanner(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      []string
	}{
		{"field", `package p; type Options struct { Push func(string) error; n int; hidden func() }`, []string{"Options.Push"}},
		{"param", `package p; func Deploy(dir string, verify func(string) (string, error)) {}; func (d *D) Apply(push func() error) {}; func private(f func()) {}`, []string{"Deploy.verify", "Apply.push"}},
		{"none", `package p; type R interface{ Start() }; type Options struct { Progress R }; func Open(o Options) {}`, nil},
	} {
		if got := funcHooks(t, "x.go", tt.src); !slices.Equal(got, tt.want) {
			t.Errorf("%s: found %q, want %q", tt.name, got, tt.want)
		}
	}
}
