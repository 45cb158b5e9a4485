package compiler

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// inputsDir holds the stand-in inputs of the example site, generated once.
var inputsDir string

// fixedDigest is the image digest the tests pretend the nginx image has.
const fixedDigest = "sha256:9d2c5a6b0c1ef7d5bd33b5b7a1b5e7f3bde9a1d2b2fa0f9c2d6d5b4b1f0e3a77"

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "compiler-inputs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	inputsDir = dir
	code := func() int {
		if _, err := demoinputs.Write(context.Background(), dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		// Compile only stats the image archive and the disk.
		for _, p := range []string{"images/nginx-1.7.9.tar", "disks/centos-6.6.vmdk"} {
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
			if err := os.WriteFile(filepath.Join(dir, p), []byte("placeholder\n"), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
		}
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the module root (the directory holding go.mod).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// exampleHCL returns the example site's definition text.
func exampleHCL(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "mesos-site", "site.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// siteDir writes text as site.hcl into a fresh directory that also holds
// the example's inputs, and returns the directory.
func siteDir(t testing.TB, text string) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"rpms", "images", "disks"} {
		if err := os.Symlink(filepath.Join(inputsDir, sub), filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// exampleFacts are the facts of the example's inputs: the stand-in RPMs'
// identities and a fixed image digest.
func exampleFacts() *Facts {
	f := &Facts{Packages: map[string][]PackageFact{}, Images: map[string]ImageFact{
		"nginx": {Digest: fixedDigest, Repository: "library/nginx"},
	}, Manifests: map[string][]byte{}}
	for repo, v := range map[string]string{"mesos": "0.22.0", "mesos-previous": "0.21.0"} {
		for _, p := range demoinputs.Mesos(v) {
			pf := PackageFact{Name: p.Name, Version: p.Version, Release: p.Release, Arch: p.Arch, Provides: p.Provides}
			if p.Epoch != 0 {
				pf.Epoch = fmt.Sprint(p.Epoch)
			}
			f.Packages[repo] = append(f.Packages[repo], pf)
		}
	}
	return f
}

// compileText loads and compiles a definition text; load errors fail the
// test.
func compileText(t testing.TB, text string, facts *Facts) (*Plan, hcl.Diagnostics, string) {
	t.Helper()
	dir := siteDir(t, text)
	d, diags := def.Load(dir, def.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diagText(diags))
	}
	p, cd := Compile(d, facts)
	return p, cd, dir
}

func diagText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		pos := ""
		if d.Subject != nil {
			pos = fmt.Sprintf("%s:%d: ", filepath.Base(d.Subject.Filename), d.Subject.Start.Line)
		}
		fmt.Fprintf(&b, "\n  %s%s: %s", pos, d.Summary, d.Detail)
	}
	return b.String()
}

func errorsOf(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			out = append(out, d)
		}
	}
	return out
}
