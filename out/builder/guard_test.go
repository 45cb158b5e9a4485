package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
)

// TestBuildReplacesOnlyItsOwn: the output path must be absent or a bundle
// this tool wrote, and nothing the build reads may lie inside what it
// replaces. Each refused case leaves what was there untouched.
func TestBuildReplacesOnlyItsOwn(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	const dir = "mesos-site-2015.03.1"
	cases := []struct {
		name    string
		prepare func(t *testing.T, outDir string) (keep string) // returns a path that must survive
		mutate  func(p *compiler.Plan, outDir string)
		protect func(outDir string) []string
		want    string // "" when the build must succeed
	}{
		{name: "absent"},
		{name: "empty directory", prepare: func(t *testing.T, o string) string { mkdir(t, filepath.Join(o, dir)); return "" }},
		{name: "previous bundle", prepare: func(t *testing.T, o string) string { buildInto(t, src, o); return "" }},
		{name: "directory without bundle.json", prepare: func(t *testing.T, o string) string {
			return write(t, filepath.Join(o, dir, "site.hcl"), "bundle \"x\" {}")
		}, want: "has no readable bundle.json"},
		{name: "directory with a broken bundle.json", prepare: func(t *testing.T, o string) string {
			write(t, filepath.Join(o, dir, manifest.FileName), `{"schema": "bundle/v1"`)
			return write(t, filepath.Join(o, dir, "notes.txt"), "mine")
		}, want: "bundle.json is not valid"},
		{name: "another bundle's directory", prepare: func(t *testing.T, o string) string {
			other := filepath.Join(t.TempDir(), "b")
			buildInto(t, src, other)
			data, _ := os.ReadFile(filepath.Join(other, dir, manifest.FileName))
			write(t, filepath.Join(o, dir, manifest.FileName), strings.Replace(string(data), `"version": "2015.03.1"`, `"version": "9.9"`, 1))
			return write(t, filepath.Join(o, dir, "notes.txt"), "mine")
		}, want: "names bundle"},
		{name: "a regular file", prepare: func(t *testing.T, o string) string { return write(t, filepath.Join(o, dir), "mine") }, want: "it is a regular file"},
		{name: "a symbolic link to a directory", prepare: func(t *testing.T, o string) string {
			target := filepath.Join(t.TempDir(), "target")
			keep := write(t, filepath.Join(target, "data"), "mine")
			if err := os.Symlink(target, filepath.Join(o, dir)); err != nil {
				t.Fatal(err)
			}
			return keep
		}, want: "symbolic link"},
		{name: "archive path is a directory", prepare: func(t *testing.T, o string) string {
			return write(t, filepath.Join(o, dir+".tar.zst", "data"), "mine")
		}, want: "it is a directory"},
		{name: "archive path is not an archive", prepare: func(t *testing.T, o string) string {
			return write(t, filepath.Join(o, dir+".tar.gz"), "my notes")
		}, want: "not a tar.gz archive"},
		{name: "definition inside the bundle directory", prepare: func(t *testing.T, o string) string {
			buildInto(t, src, o)
			return write(t, filepath.Join(o, dir, "site.hcl"), "bundle")
		}, protect: func(o string) []string { return []string{filepath.Join(o, dir, "site.hcl")} }, want: "which the build reads"},
		{name: "input inside the previous bundle", prepare: func(t *testing.T, o string) string { buildInto(t, src, o); return "" },
			mutate: func(p *compiler.Plan, o string) {
				in := p.Repos[0].Packages[0]
				in.Src = filepath.Join(o, dir, filepath.FromSlash(in.Dest))
			}, want: "which the build reads"},
		{name: "definition directory is the archive path", prepare: func(t *testing.T, o string) string {
			return write(t, filepath.Join(o, dir+".tar", "site.hcl"), "bundle")
		}, protect: func(o string) []string { return []string{filepath.Join(o, dir+".tar")} }, want: "it is a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			keep := ""
			if tc.prepare != nil {
				keep = tc.prepare(t, outDir)
			}
			var before []byte
			if keep != "" {
				before, _ = os.ReadFile(keep)
			}
			plan := outtest.CompileSite(t, src)
			if tc.mutate != nil {
				tc.mutate(plan, outDir)
			}
			opts := testOptions(t)
			if tc.protect != nil {
				opts.Protect = tc.protect(outDir)
			}
			_, err := checkBuild(context.Background(), plan, outDir, opts)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotOurs) {
				t.Fatalf("Build: %v; want an error saying %q", err, tc.want)
			}
			if keep != "" {
				if after, err := os.ReadFile(keep); err != nil || string(after) != string(before) {
					t.Fatalf("%s was changed or removed: %v", keep, err)
				}
			}
		})
	}
}

// TestLockFileNotFollowed: a symbolic link at the lock path is refused and
// its target never created.
func TestLockFileNotFollowed(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	outDir := t.TempDir()
	target := filepath.Join(t.TempDir(), "victim")
	if err := os.Symlink(target, filepath.Join(outDir, ".mesos-site-2015.03.1.lock")); err != nil {
		t.Fatal(err)
	}
	_, err := checkBuild(context.Background(), outtest.CompileSite(t, src), outDir, testOptions(t))
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Build: %v; want a refusal of the symlinked lock", err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Fatal("the lock's symlink target was created")
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, content string) string {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func buildInto(t *testing.T, src, outDir string) {
	t.Helper()
	if _, err := checkBuild(context.Background(), outtest.CompileSite(t, src), outDir, testOptions(t)); err != nil {
		t.Fatal(err)
	}
}
