package compiler

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sharedSummaries are the summaries given at more than one place in the
// source, each because it names one problem met in several blocks or
// phases (the detail says where). Any other summary names one check.
var sharedSummaries = map[string]string{
	"Cannot read definition":        "a definition path or one of its files cannot be read",
	"Invalid CPU count":             "cpu of a node group and of a vm_template",
	"Invalid instance count":        "instances of a node group and of an app",
	"Invalid memory size":           "memory_mb of a node group and of a vm_template",
	"Invalid port":                  "zookeeper port, HAProxy stats_port and app ports",
	"Invalid reference":             "a reference that is not TYPE.NAME, or names another type",
	"Invalid storage type":          "storage of a storage_profile and type of a node group's storage",
	"Invalid value for variable":    "a variable's value of the wrong type, from each source, or failing validation",
	"Mesos flag given twice":        "in mesos_*_flags over a flag the bundle gives, and among the files mesos-init-wrapper reads",
	"Unknown Mesos flag":            "named in mesos_*_flags, or given by a file mesos-init-wrapper reads",
	"Invalid Mesos flag value":      "a value that is not one non-empty line, and one the flag's type does not parse",
	"List too long":                 "a list over the limit, measured before and after evaluation",
	"No roles":                      "a distro and a node group without roles",
	"Role package missing":          "for a node group's role and for a distro's unused role",
	"Unknown role":                  "a role of a distro and of a node group",
	"Value for undeclared variable": "from --var and from a var file",
	"Value too large":               "a value over the limit, measured before and after evaluation",
}

// dynamicSummaries are the summaries built from a value, by their source
// text; the test expands the ones it can.
var dynamicSummaries = map[string]bool{
	`"Invalid " + syn.Name`:                   true, // expanded from sinks below
	`fmt.Sprintf("Duplicate %s block", kind)`: true, // one per block type
	`"Reference to undeclared " + kind`:       true, // one per block type
	`summary`:                                 true, // errorf and warnf themselves
}

// TestDiagnosticSummariesAreUnique: every diagnostic summary the compiler
// and the loader write names one check (a reader or a tool can tell the
// problem from the summary alone), except the shared ones listed above,
// and no two summaries differ only in case.
func TestDiagnosticSummariesAreUnique(t *testing.T) {
	sites := map[string][]string{} // summary -> positions
	for _, dir := range []string{".", filepath.Join("..", "hcl", "sitedef")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			af, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			add := func(e ast.Expr) {
				pos := fset.Position(e.Pos()).String()
				if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
					s, err := strconv.Unquote(bl.Value)
					if err != nil {
						t.Fatal(err)
					}
					sites[s] = append(sites[s], pos)
					return
				}
				var b strings.Builder
				if err := printer.Fprint(&b, fset, e); err != nil {
					t.Fatal(err)
				}
				if !dynamicSummaries[b.String()] {
					t.Errorf("%s: summary %s is neither a string literal nor a known dynamic summary", pos, b.String())
				}
			}
			ast.Inspect(af, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					if sel, ok := x.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "errorf" || sel.Sel.Name == "warnf") && len(x.Args) > 1 {
						add(x.Args[1])
					}
				case *ast.KeyValueExpr:
					if id, ok := x.Key.(*ast.Ident); ok && id.Name == "Summary" {
						add(x.Value)
					}
				}
				return true
			})
		}
	}
	seen := map[string]bool{}
	for _, s := range sinks {
		for _, syn := range s.Syntaxes {
			if !seen[syn.Name] {
				seen[syn.Name] = true
				sites["Invalid "+syn.Name] = append(sites["Invalid "+syn.Name], "syntax "+syn.Name)
			}
		}
	}
	if len(sites) < 100 {
		t.Fatalf("found only %d summaries; the scan is broken", len(sites))
	}
	folded := map[string]string{}
	var names []string
	for s := range sites {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		at := sites[s]
		if _, shared := sharedSummaries[s]; len(at) > 1 && !shared {
			t.Errorf("summary %q is given at %d places (%s): name each check's problem, or list it in sharedSummaries with why", s, len(at), strings.Join(at, ", "))
		}
		if strings.TrimSpace(s) == "" {
			t.Errorf("empty summary at %s", strings.Join(at, ", "))
		}
		k := strings.ToLower(s)
		if prev, ok := folded[k]; ok {
			t.Errorf("summaries %q and %q differ only in case", prev, s)
		}
		folded[k] = s
	}
	for s := range sharedSummaries {
		if len(sites[s]) < 2 {
			t.Errorf("sharedSummaries lists %q, which is given at %d places", s, len(sites[s]))
		}
	}
}
