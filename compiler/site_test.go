package compiler

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/bdebundle/bundle/internal/testutil"
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

// exampleHCL returns the example site's definition text.
func exampleHCL(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "examples", "mesos-site", "site.hcl"))
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
	// The site's manifest the example's upgrade block names.
	if err := os.Symlink(filepath.Join(testutil.ModuleRoot(t), "examples", "mesos-site", "site"), filepath.Join(dir, "site")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// exampleFacts returns a marker: compileText replaces it with the facts of
// the site's actual inputs (gatherFacts).
func exampleFacts() *Facts { return &Facts{Manifests: map[string][]byte{}} }

// gatherFacts plays the part of the fact gatherer for the stand-in inputs:
// the files each input path names (globs expanded, sizes), a disk fact
// for each disk (its file size as capacity), the identity of every RPM
// (known from the stand-in package list by file name), a fixed image digest,
// and the bytes of each manifest a distro names.
func gatherFacts(t testing.TB, d *sitedef.Definition, dir string, extra *Facts) *Facts {
	t.Helper()
	known := map[string]demoinputs.Pkg{}
	for _, v := range []string{"0.21.0", "0.22.0"} {
		for _, p := range demoinputs.Mesos(v) {
			known[p.FileName()] = p
		}
	}
	f := &Facts{Globs: map[string]GlobFact{}, Paths: map[string]PathFact{}, Disks: map[string]DiskFact{},
		Packages: map[string][]PackageFact{}, Images: map[string]ImageFact{
			"nginx": {Digest: fixedDigest, Repository: "library/nginx"},
		}, Manifests: map[string][]byte{}}
	globs, paths, disks := Wanted(d)
	for _, g := range globs {
		matches, err := filepath.Glob(g.Pattern)
		if err != nil {
			f.Globs[g.Pattern] = GlobFact{Err: err.Error()}
			continue
		}
		var gf GlobFact
		for _, m := range matches {
			err := filepath.WalkDir(m, func(p string, e fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if e.IsDir() || (p != m && !strings.HasSuffix(p, g.Ext)) {
					return nil
				}
				fi, err := e.Info()
				if err != nil {
					return err
				}
				gf.Files = append(gf.Files, FileFact{Path: p, Size: fi.Size()})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		f.Globs[g.Pattern] = gf
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			f.Paths[p] = PathFact{Exists: true, Dir: fi.IsDir(), Size: fi.Size()}
		}
	}
	for _, p := range disks {
		f.Disks[p] = DiskFact{Capacity: f.Paths[p].Size}
	}
	repoOf := map[string]string{}
	for _, r := range d.Repos {
		for _, pat := range r.Packages {
			for _, file := range f.Globs[InputPath(r.Dir, pat)].Files {
				repoOf[file.Path] = r.Name
			}
		}
	}
	for _, r := range d.Repos {
		f.Packages[r.Name] = []PackageFact{}
	}
	for path, rn := range repoOf {
		pk, ok := known[filepath.Base(path)]
		if !ok {
			t.Fatalf("unknown package %s", path)
		}
		pf := PackageFact{NEVRA: rpmdep.NEVRA{Name: pk.Name, Version: pk.Version, Release: pk.Release, Arch: pk.Arch}}
		for f := range pk.Files {
			pf.Files = append(pf.Files, strings.TrimSuffix(f, "/"))
		}
		slices.Sort(pf.Files)
		for _, pr := range pk.Provides {
			pf.Provides = append(pf.Provides, rpmdep.Parse(pr))
		}
		if pk.Epoch != 0 {
			pf.Epoch = fmt.Sprint(pk.Epoch)
		}
		f.Packages[rn] = append(f.Packages[rn], pf)
	}
	if u := d.Upgrade; u != nil {
		if b, err := os.ReadFile(InputPath(u.Dir, u.Manifest)); err == nil {
			f.Manifests[u.Manifest] = b
		}
	}
	for k, v := range extra.Manifests {
		f.Manifests[k] = v
	}
	return f
}

// compileText loads and compiles a definition text; load errors fail the
// test.
func compileText(t testing.TB, text string, facts *Facts) (*Plan, hcl.Diagnostics, string) {
	t.Helper()
	dir := siteDir(t, text)
	d, diags := sitedef.Load(dir, sitedef.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diagText(diags))
	}
	if facts != nil {
		facts = gatherFacts(t, d, dir, facts)
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
