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

// under reports whether path is prefix or a package below it. A prefix
// ending in "/" names only the packages below it (the compiler may import
// out/manifest and nothing else under out).
func under(path, prefix string) bool {
	if p, ok := strings.CutSuffix(prefix, "/"); ok {
		return strings.HasPrefix(path, p+"/") && !slices.Contains(formatLeaves, path)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// formatLeaves are the bundle format's packages that every stage may
// import: pure leaves that read and write no files and import no other
// package of the module.
var formatLeaves = []string{mod + "/out/manifest"}

func TestImportFences(t *testing.T) {
	pkgs := list(t)
	readers := []string{mod + "/out/read", mod + "/out/verify", mod + "/out/inspect", mod + "/out/diff"}
	format := []string{mod + "/out/manifest", mod + "/out/archive"}
	tests := []struct {
		rule      string
		from      string   // the packages under this path...
		forbidden []string // ...depend on none of these packages or those below them
		exact     []string // ...nor on these packages
		allowed   []string // ...but may depend on these, though forbidden says otherwise
	}{
		{"the compiler is pure", mod + "/compiler", []string{mod + "/repo", mod + "/images", mod + "/out/", mod + "/pipeline"}, []string{"net", "net/http", "os/exec"}, nil},
		{"hcl is the first stage", mod + "/hcl", []string{mod + "/compiler", mod + "/repo", mod + "/images", mod + "/out", mod + "/pipeline"}, nil, nil},
		{"repo does not reach forward", mod + "/repo", []string{mod + "/compiler", mod + "/images", mod + "/out", mod + "/pipeline"}, nil, nil},
		{"the RPM reader knows no yum repository", mod + "/repo/rpm", []string{mod + "/repo/internal"}, []string{mod + "/repo"}, nil},
		{"only tests use the RPM fixtures", mod, []string{mod + "/repo/internal/rpmfixture"}, nil, nil},
		{"RPM signatures stand below the RPM reader", mod + "/repo/rpmsig", []string{mod + "/repo/rpm", mod + "/repo/internal"}, []string{mod + "/repo"}, nil},
		{"images do not reach forward", mod + "/images", []string{mod + "/out", mod + "/pipeline"}, nil, nil},
		{"the image layout speaks to no registry", mod + "/images/layout", []string{mod + "/images/registry", "github.com/google/go-containerregistry/pkg/v1/remote"}, []string{mod + "/images"}, nil},
		{"the registry push pulls no image", mod + "/images/registry", nil, []string{mod + "/images"}, nil},
		{"the retry policy is a leaf", mod + "/internal/retry", []string{mod}, nil, nil},
		{"the plain-HTTP policy is a leaf", mod + "/internal/plainhttp", []string{mod}, nil, nil},
		{"out does not reach back to the composition root", mod + "/out", []string{mod + "/pipeline"}, nil, nil},
		{"the bundle.json schema stands alone", mod + "/out/manifest", []string{mod + "/out", mod + "/compiler", mod + "/repo", mod + "/images", mod + "/sbom", mod + "/provenance", mod + "/pipeline"}, nil, nil},
		{"the archive format is a leaf of the schema (and of the volume format, which it reads through)", mod + "/out/archive", []string{mod + "/out/", mod + "/compiler", mod + "/repo", mod + "/images", mod + "/sbom", mod + "/provenance", mod + "/pipeline"}, []string{mod + "/out/builder"}, []string{mod + "/out/volume"}},
		{"the volume format is a leaf of the schema", mod + "/out/volume", []string{mod + "/out/", mod + "/compiler", mod + "/repo", mod + "/images", mod + "/sbom", mod + "/provenance", mod + "/pipeline"}, []string{mod + "/out/builder"}, nil},
		{"deltas read bundles, never build or deploy them", mod + "/out/delta", []string{mod + "/out/vcenter", mod + "/out/builder", mod + "/out/inspect", mod + "/out/diff", mod + "/compiler", mod + "/repo", mod + "/images", mod + "/pipeline"}, []string{mod + "/out/builder"}, nil},
		{"the bundle reader neither verifies, inspects nor diffs", mod + "/out/read", append([]string{mod + "/out/vcenter", mod + "/compiler", mod + "/repo", mod + "/images"}, readers[1:]...), []string{mod + "/out/builder"}, nil},
		{"verify neither inspects nor diffs, builds nor deploys", mod + "/out/verify", []string{mod + "/out/inspect", mod + "/out/diff", mod + "/out/vcenter", mod + "/compiler", mod + "/images"}, []string{mod + "/out/builder"}, nil},
		{"inspect neither verifies nor diffs, builds nor deploys", mod + "/out/inspect", []string{mod + "/out/verify", mod + "/out/diff", mod + "/out/vcenter", mod + "/compiler", mod + "/repo", mod + "/images"}, []string{mod + "/out/builder"}, nil},
		{"diff neither verifies nor inspects, builds nor deploys", mod + "/out/diff", []string{mod + "/out/verify", mod + "/out/inspect", mod + "/out/vcenter", mod + "/compiler", mod + "/images"}, []string{mod + "/out/builder"}, nil},
		{"deploy reads bundles through the schema only", mod + "/out/vcenter", append(append([]string{mod + "/compiler"}, readers...), format[1:]...), []string{mod + "/out/builder"}, nil},
		{"the builder neither reads built bundles nor deploys", mod + "/out/builder", append([]string{mod + "/out/vcenter"}, readers...), nil, nil},
		{"no library imports the CLI", mod + "/pipeline", []string{mod + "/cmd"}, nil, nil},
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
						if under(d, f) && !slices.Contains(tt.allowed, d) {
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
	// The format's leaves import no package of the module and do no I/O
	// themselves (their callers read and write the bytes).
	for _, leaf := range formatLeaves {
		p, ok := pkgs[leaf]
		if !ok {
			t.Fatalf("package %s not found", leaf)
		}
		for _, imp := range p.Imports {
			if under(imp, mod) || slices.Contains([]string{"os", "os/exec", "io/fs", "path/filepath", "net", "net/http", "syscall"}, imp) {
				t.Errorf("%s imports %s; the format is a pure leaf", leaf, imp)
			}
		}
	}
	// Every registry request follows the one HTTP policy of images/registry:
	// only the registry push and the sources (which reach registries
	// through registry.Options.Remote) import go-containerregistry's remote.
	for path, p := range pkgs {
		if path == mod+"/images" || path == mod+"/images/registry" || path == mod+"/images/internal/imagetest" || under(path, mod+"/internal/cmd") {
			continue
		}
		for _, d := range p.Imports {
			if under(d, "github.com/google/go-containerregistry/pkg/v1/remote") {
				t.Errorf("%s imports %s: registry requests go through images/registry", path, d)
			}
		}
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

// flowPackages are the packages whose functions only pipeline calls: the
// builder, the readers and the deployer. The CLI may name their types,
// constants and variables to print results and tell errors apart.
var flowPackages = []string{mod + "/out/builder", mod + "/out/archive", mod + "/out/read", mod + "/out/verify", mod + "/out/vcenter", mod + "/out/volume", mod + "/out/delta"}

// cliShared are the out packages the CLI uses besides the flows: the
// bundle format and the site steps' contract (endpoints from the
// environment, the plan's text, the errors that map to exit codes).
var cliShared = []string{mod + "/out/manifest", mod + "/out/site"}

// readOnlyPackages are the readers that need nothing wired in: the CLI calls
// them directly, as crane calls its read-only packages, and pipeline keeps
// no forwarder to them. (verify needs the deep checks pipeline wires in,
// and the images verbs the archive walk, so they stay in flowPackages.)
var readOnlyPackages = []string{mod + "/out/inspect", mod + "/out/diff"}

// funcsOf returns the top-level functions of the Go files (no methods).
func funcsOf(t *testing.T, dir string, files []string) map[string]bool {
	t.Helper()
	funcs := map[string]bool{}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
				funcs[fd.Name.Name] = true
			}
		}
	}
	return funcs
}

// flowCalls returns "file:line: pkg.Func" for each use in the Go source src
// of a function of the packages in funcs (import path to function names).
func flowCalls(t *testing.T, name string, src any, funcs map[string]map[string]bool) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	local := map[string]map[string]bool{} // the import's name in the file
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		fs, ok := funcs[p]
		if !ok {
			continue
		}
		n := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			n = imp.Name.Name
		}
		local[n] = fs
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && local[x.Name][sel.Sel.Name] {
			found = append(found, fset.Position(sel.Pos()).String()+": "+x.Name+"."+sel.Sel.Name)
		}
		return true
	})
	return found
}

// TestCLIWiresNoFlow: pipeline is the one composition root. The CLI calls
// no function of the builder, the readers or the deployer but the
// read-only packages; each other verb calls pipeline and prints. pipeline
// does not import the read-only packages: it keeps no forwarders to them.
func TestCLIWiresNoFlow(t *testing.T) {
	pkgs := list(t)
	funcs := map[string]map[string]bool{}
	for _, p := range flowPackages {
		fp, ok := pkgs[p]
		if !ok {
			t.Fatalf("package %s not found", p)
		}
		funcs[p] = funcsOf(t, fp.Dir, fp.GoFiles)
		if len(funcs[p]) == 0 {
			t.Fatalf("%s has no functions; the fence checks nothing", p)
		}
	}
	cli, ok := pkgs[mod+"/cmd/bundle/cli"]
	if !ok {
		t.Fatal("package cmd/bundle/cli not found")
	}
	if !slices.Contains(cli.Imports, mod+"/pipeline") {
		t.Fatal("the CLI does not import pipeline; the fence checks nothing")
	}
	for _, imp := range cli.Imports {
		// out/manifest is the format; out/site's plan and status writers
		// print what the deploy steps report.
		if under(imp, mod+"/out") && !slices.Contains(cliShared, imp) && !slices.Contains(flowPackages, imp) && !slices.Contains(readOnlyPackages, imp) {
			t.Errorf("the CLI imports %s", imp)
		}
	}
	for _, ro := range readOnlyPackages {
		if _, ok := pkgs[ro]; !ok {
			t.Fatalf("package %s not found", ro)
		}
		if slices.Contains(pkgs[mod+"/pipeline"].Imports, ro) {
			t.Errorf("pipeline imports %s: the CLI calls it directly, without a forwarder", ro)
		}
	}
	for _, f := range cli.GoFiles {
		for _, hit := range flowCalls(t, filepath.Join(cli.Dir, f), nil, funcs) {
			t.Errorf("%s: the CLI wires a flow itself; call pipeline", hit)
		}
	}
}

// TestOneJobOnePackage: the jobs that were once spread over several
// packages each have one: gathering the compiler's facts (compiler.Wanted,
// the RPM scan cache) only internal/inputfacts, pinning images for the lock
// file (images.Lock) only internal/lockfile.
func TestOneJobOnePackage(t *testing.T) {
	pkgs := list(t)
	owners := []struct {
		owner string
		funcs map[string]map[string]bool
	}{
		{mod + "/internal/inputfacts", map[string]map[string]bool{mod + "/compiler": {"Wanted": true}, mod + "/repo": {"OpenScanCache": true}}},
		{mod + "/internal/lockfile", map[string]map[string]bool{mod + "/images": {"Lock": true}}},
	}
	for _, o := range owners {
		owner, ok := pkgs[o.owner]
		if !ok {
			t.Fatalf("package %s not found", o.owner)
		}
		used := 0
		for _, f := range owner.GoFiles {
			used += len(flowCalls(t, filepath.Join(owner.Dir, f), nil, o.funcs))
		}
		if used == 0 {
			t.Fatalf("%s calls none of %v; the fence checks nothing", o.owner, o.funcs)
		}
		for path, p := range pkgs {
			if path == o.owner {
				continue
			}
			for _, f := range p.GoFiles {
				for _, hit := range flowCalls(t, filepath.Join(p.Dir, f), nil, o.funcs) {
					t.Errorf("%s: only %s does this job", hit, o.owner)
				}
			}
		}
	}
}

// TestFlowCallScanner shows the scanner catches calls and function values,
// renamed imports included, and lets types and constants pass.
func TestFlowCallScanner(t *testing.T) {
	funcs := map[string]map[string]bool{mod + "/out/verify": {"Verify": true, "Extract": true}}
	tests := []struct {
		name, src string
		want      int
	}{
		{"call", `package p; import "` + mod + `/out/verify"; func f() { verify.Verify(nil, "", verify.Options{}) }`, 1},
		{"function value", `package p; import "` + mod + `/out/verify"; var v = verify.Extract`, 1},
		{"renamed import", `package p; import r "` + mod + `/out/verify"; func f() { r.Verify(nil, "", r.Options{}) }`, 1},
		{"types and constants", `package p; import "` + mod + `/out/verify"; var d *verify.Report; var k = verify.Problem{}`, 0},
		{"another package's Verify", `package p; import "` + mod + `/pipeline"; func f() { pipeline.Verify(nil, "", nil) }`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flowCalls(t, "x.go", tt.src, funcs); len(got) != tt.want {
				t.Errorf("found %q, want %d", got, tt.want)
			}
		})
	}
}
