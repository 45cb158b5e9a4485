package compiler

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func examplePlan(t *testing.T) *Plan {
	t.Helper()
	p, diags, _ := compileText(t, exampleHCL(t), exampleFacts())
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("the example site does not compile:%s", diagText(errs))
	}
	return p
}

func TestGolden(t *testing.T) {
	p := examplePlan(t)
	root := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, f := range p.Files {
		want[f.Path] = true
		path := filepath.Join(root, filepath.FromSlash(f.Path))
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: no golden file (run go test -update): %v", f.Path, err)
			continue
		}
		if !bytes.Equal(golden, f.Data) {
			t.Errorf("%s differs from its golden file:\n--- got\n%s\n--- want\n%s", f.Path, f.Data, golden)
		}
	}
	err := filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if !want[filepath.ToSlash(rel)] {
			t.Errorf("golden file %s is no longer rendered", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeterministic compiles the example twice and compares every file.
func TestDeterministic(t *testing.T) {
	a, b := examplePlan(t), examplePlan(t)
	if len(a.Files) != len(b.Files) {
		t.Fatalf("%d files, then %d", len(a.Files), len(b.Files))
	}
	paths := make([]string, len(a.Files))
	for i := range a.Files {
		paths[i] = a.Files[i].Path
		if a.Files[i].Path != b.Files[i].Path || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
			t.Errorf("%s differs between two compiles", a.Files[i].Path)
		}
		if strings.Contains(string(a.Files[i].Data), inputsDir) || strings.Contains(string(a.Files[i].Data), "compiler-inputs-") {
			t.Errorf("%s holds a build-host path", a.Files[i].Path)
		}
	}
	if !sort.StringsAreSorted(paths) {
		t.Errorf("files are not sorted by path: %v", paths)
	}
}
