package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bdebundle/bundle/repo"
)

func TestMain(m *testing.M) {
	// Keep the tests' scan cache out of the user's cache directory.
	dir, err := os.MkdirTemp("", "pipeline-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("BUNDLE_CACHE_DIR", dir)
	repo.DefaultScanCacheMinSize = 0 // the test RPMs are small
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestCompileReusesScans(t *testing.T) {
	dir := writeSite(t, fullBaseline)
	rpms, err := filepath.Glob(filepath.Join(dir, "rpms", "*.rpm"))
	if err != nil || len(rpms) != 2 {
		t.Fatalf("fixture RPMs %v: %v", rpms, err)
	}
	cdir := t.TempDir()
	compile := func(opts CompileRequest) *Compiled {
		opts.Path = dir
		t.Helper()
		res, diags := Compile(context.Background(), opts)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return res
	}
	n := int64(len(rpms))
	cold := compile(CompileRequest{CacheDir: cdir})
	if want := (repo.ScanCacheStats{Misses: n, Stored: n}); cold.Inputs.ScanCache != want {
		t.Errorf("first compile: %+v, want %+v", cold.Inputs.ScanCache, want)
	}
	warm := compile(CompileRequest{CacheDir: cdir})
	// The second compile read no RPM: every package came from the cache.
	if want := (repo.ScanCacheStats{Hits: n}); warm.Inputs.ScanCache != want {
		t.Errorf("second compile: %+v, want %+v", warm.Inputs.ScanCache, want)
	}
	if !reflect.DeepEqual(cold.Inputs.Packages, warm.Inputs.Packages) || !reflect.DeepEqual(cold.Facts, warm.Facts) {
		t.Error("packages or facts from the cache differ from those read")
	}
	off := compile(CompileRequest{CacheDir: cdir, NoCache: true})
	if off.Inputs.ScanCache != (repo.ScanCacheStats{}) {
		t.Errorf("NoCache compile used the cache: %+v", off.Inputs.ScanCache)
	}
	if !reflect.DeepEqual(off.Inputs.Packages, warm.Inputs.Packages) {
		t.Error("packages read without the cache differ")
	}
	// A rewritten RPM is read again.
	b, err := os.ReadFile(rpms[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(rpms[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rpms[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	again := compile(CompileRequest{CacheDir: cdir})
	if want := (repo.ScanCacheStats{Hits: n - 1, Misses: 1, Stored: 1}); again.Inputs.ScanCache != want {
		t.Errorf("after rewriting one RPM: %+v, want %+v", again.Inputs.ScanCache, want)
	}
	// An unusable cache directory only costs time.
	bad := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(bad, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := compile(CompileRequest{CacheDir: bad}); !reflect.DeepEqual(res.Inputs.Packages, warm.Inputs.Packages) {
		t.Error("compile with an unusable cache directory differs")
	}
}
