package delta

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/internal/builttest"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/out/volume"
)

// release builds the test site with gen's extras (the rack attribute
// differs per gen) into a new directory.
func release(t *testing.T, src, gen string) *builder.Result {
	t.Helper()
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, gen)
	res, err := builttest.Build(context.Background(), plan, t.TempDir(), builder.Options{BuilderVersion: "v0.0.0-test", CacheDir: t.TempDir(), Templates: outtest.FakeTemplates{}, NoHardLinks: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func releases(t *testing.T, gens ...string) []*builder.Result {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	var rs []*builder.Result
	for _, g := range gens {
		rs = append(rs, release(t, src, g))
	}
	return rs
}

func load(t *testing.T, p string) *Base {
	t.Helper()
	b, err := LoadBase(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, dir string, base *Base) string {
	t.Helper()
	res, err := Write(context.Background(), dir, base, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return res.Dir
}

func check(t *testing.T, d string, base *Base) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), d, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func problems(r *Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.Path + ": " + p.Problem + "\n")
	}
	return b.String()
}

// sameTree fails unless directories a and b hold the same files with the
// same bytes and modes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", a, b).CombinedOutput()
	if err != nil {
		t.Fatalf("%s and %s differ: %v\n%s", a, b, err, out)
	}
	modes := func(root string) map[string]os.FileMode {
		m := map[string]os.FileMode{}
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			rel, _ := filepath.Rel(root, p)
			m[rel] = fi.Mode()
			return nil
		})
		return m
	}
	ma, mb := modes(a), modes(b)
	for k, v := range ma {
		if mb[k] != v {
			t.Fatalf("%s: mode %v in %s, %v in %s", k, v, a, mb[k], b)
		}
	}
}

func TestDeltaAndMerge(t *testing.T) {
	rs := releases(t, "1", "2", "3")
	r1, r2, r3 := rs[0], rs[1], rs[2]
	d2 := write(t, r2.Dir, load(t, r1.Dir))
	rep := check(t, d2, nil)
	if !rep.OK() || rep.BaseChecked != "" || rep.Carried == 0 || rep.FromBase == 0 {
		t.Fatalf("the delta alone: %+v\n%s", rep, problems(rep))
	}
	m1 := load(t, r1.Dir).Manifest
	has := map[string]bool{}
	for _, f := range m1.Files {
		has[f.SHA256] = true
	}
	for _, f := range rep.delta.Files {
		if has[f.SHA256] {
			t.Errorf("%s is carried though the base has its bytes", f.Path)
		}
	}
	rpms := 0
	for _, f := range rep.delta.FromBase {
		if strings.HasSuffix(f.Path, ".rpm") {
			rpms++
		}
	}
	if rpms == 0 {
		t.Error("no RPM taken from the base")
	}
	if rep.CarriedBytes >= r2.Bytes/2 {
		t.Errorf("the delta carries %d of %d bytes", rep.CarriedBytes, r2.Bytes)
	}
	// With the base, in every form it comes in.
	for _, base := range []struct{ path, checked string }{{r1.Dir, "files"}, {r1.Archive, "files"}, {filepath.Join(r1.Dir, manifest.FileName), "manifest"}} {
		rep := check(t, d2, load(t, base.path))
		if !rep.OK() || rep.BaseChecked != base.checked {
			t.Fatalf("with base %s: %s\n%s", base.path, rep.BaseChecked, problems(rep))
		}
	}
	// Release 1 as a volume set, too.
	info, _, err := read.VolumeInfo(context.Background(), r1.Archive)
	if err != nil {
		t.Fatal(err)
	}
	set := filepath.Join(t.TempDir(), "media")
	if _, _, err := volume.Split(context.Background(), r1.Archive, set, 64<<10, info, nil); err != nil {
		t.Fatal(err)
	}
	if rep := check(t, d2, load(t, set)); !rep.OK() || rep.BaseChecked != "files" {
		t.Fatalf("with a volume set base: %s\n%s", rep.BaseChecked, problems(rep))
	}
	// Merge, from the directory, the archive and the volume set: a full
	// build's bytes.
	for _, bp := range []string{r1.Dir, r1.Archive, set} {
		outDir := t.TempDir()
		got, rep, err := Merge(context.Background(), load(t, bp), d2, outDir, nil)
		if err != nil {
			t.Fatalf("merge onto %s: %v\n%s", bp, err, problems(rep))
		}
		sameTree(t, r2.Dir, got)
	}
	// A delta of a delta: release 3 against release 2's delta (its
	// bundle.json), merged onto release 2 merged from release 1.
	d3 := write(t, r3.Dir, load(t, d2))
	mid, _, err := Merge(context.Background(), load(t, r1.Dir), d2, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, rep, err := Merge(context.Background(), load(t, mid), d3, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("delta of a delta: %v\n%s", err, problems(rep))
	}
	sameTree(t, r3.Dir, got)
	if _, _, err := Merge(context.Background(), load(t, d2), d3, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "needs the base's files") {
		t.Errorf("merge onto a delta: %v", err)
	}
}

func TestDeltaRefusals(t *testing.T) {
	rs := releases(t, "1", "2", "3")
	r1, r2, r3 := rs[0], rs[1], rs[2]
	d2 := write(t, r2.Dir, load(t, r1.Dir))
	copyDir := func(src string) string {
		dst := filepath.Join(t.TempDir(), filepath.Base(src))
		if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		return dst
	}
	m1 := load(t, r1.Dir).Manifest
	rpm := ""
	for _, f := range m1.Files {
		if strings.HasSuffix(f.Path, ".rpm") {
			rpm = f.Path
			break
		}
	}
	if rpm == "" {
		t.Fatal("no RPM in the base")
	}
	for _, c := range []struct {
		name  string
		delta func() string
		base  func() string
		want  string
	}{
		{"wrong base", func() string { return d2 }, func() string { return r3.Dir }, "wrong base: it is"},
		{"a file the delta expects in the base removed", func() string { return d2 }, func() string {
			b := copyDir(r1.Dir)
			os.Remove(filepath.Join(b, filepath.FromSlash(rpm)))
			return b
		}, rpm},
		{"a carried file changed", func() string {
			d := copyDir(d2)
			rep := check(t, d, nil)
			p := filepath.Join(d, filepath.FromSlash(rep.delta.Files[0].Path))
			os.WriteFile(p, []byte("tampered"), 0o644)
			return d
		}, func() string { return r1.Dir }, "bundle.json records"},
		{"a file slipped into the delta", func() string {
			d := copyDir(d2)
			os.WriteFile(filepath.Join(d, "extra"), []byte("x"), 0o644)
			return d
		}, func() string { return r1.Dir }, "not listed in delta.json"},
		{"bundle.json replaced", func() string {
			d := copyDir(d2)
			b, _ := os.ReadFile(filepath.Join(r3.Dir, manifest.FileName))
			os.WriteFile(filepath.Join(d, manifest.FileName), b, 0o644)
			return d
		}, func() string { return r1.Dir }, "delta.json records"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, b := c.delta(), c.base()
			rep := check(t, d, load(t, b))
			if rep.OK() || !strings.Contains(problems(rep), c.want) {
				t.Fatalf("problems:\n%s\nwant %q", problems(rep), c.want)
			}
			outDir := filepath.Join(t.TempDir(), "out")
			got, _, err := Merge(context.Background(), load(t, b), d, outDir, nil)
			if got != "" || !errors.Is(err, ErrNotVerified) {
				t.Fatalf("merge: %q, %v", got, err)
			}
			if _, err := os.Stat(outDir); err == nil {
				t.Fatal("a refused merge wrote its output directory")
			}
		})
	}
}

// TestBadDeltaManifest verifies and merges deltas whose delta.json is
// garbage: each is refused with a problem on delta.json, and merge writes
// nothing.
func TestBadDeltaManifest(t *testing.T) {
	rs := releases(t, "1", "2")
	r1, r2 := rs[0], rs[1]
	d2 := write(t, r2.Dir, load(t, r1.Dir))
	good, err := os.ReadFile(filepath.Join(d2, FileName))
	if err != nil {
		t.Fatal(err)
	}
	gm, err := parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(gm.Files) == 0 || len(gm.FromBase) == 0 {
		t.Fatalf("the delta carries %d files and takes %d from the base; the cases need both", len(gm.Files), len(gm.FromBase))
	}
	edit := func(f func(m *Manifest)) []byte {
		m, _ := parse(good)
		f(m)
		return m.encode()
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("\x00\x01garbage"), "not a delta manifest"},
		{"data after the object", append(append([]byte(nil), good...), "[]"...), "data after the JSON object"},
		{"unknown key", []byte(strings.Replace(string(good), `"schema"`, `"x": 1, "schema"`, 1)), "unknown field"},
		{"another schema", edit(func(m *Manifest) { m.Schema = "bundle-delta/v0" }), "schema"},
		{"a carried path leaving the bundle", edit(func(m *Manifest) { m.Files[0].Path = "../../etc/cron.d/x" }), "not a bundle file path"},
		{"an absolute carried path", edit(func(m *Manifest) { m.Files[0].Path = "/etc/passwd" }), "not a bundle file path"},
		{"a carried delta.json", edit(func(m *Manifest) { m.Files[0].Path = FileName }), "not a bundle file path"},
		{"a base path leaving the base", edit(func(m *Manifest) { m.FromBase[0].BasePath = "../secret" }), "not a bundle file path"},
		{"a negative size", edit(func(m *Manifest) { m.Files[0].Size = -1 }), "size -1"},
		{"a sha256 that is not one", edit(func(m *Manifest) { m.FromBase[0].SHA256 = "xyz" }), `sha256 "xyz"`},
		{"an unknown base", edit(func(m *Manifest) { m.Base.BundleSHA256 = strings.Repeat("0", 64) }), "wrong base"},
		{"a base digest that is not one", edit(func(m *Manifest) { m.Base.BundleSHA256 = "r1" }), "not a sha256 digest"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), filepath.Base(d2))
			if out, err := exec.Command("cp", "-a", d2, d).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			if err := os.WriteFile(filepath.Join(d, FileName), c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			rep := check(t, d, load(t, r1.Dir))
			if rep.OK() || !strings.Contains(problems(rep), c.want) {
				t.Fatalf("problems:\n%s\nwant %q", problems(rep), c.want)
			}
			outDir := filepath.Join(t.TempDir(), "out")
			got, _, err := Merge(context.Background(), load(t, r1.Dir), d, outDir, nil)
			if got != "" || !errors.Is(err, ErrNotVerified) {
				t.Fatalf("merge: %q, %v", got, err)
			}
			if _, err := os.Stat(outDir); err == nil {
				t.Fatal("a refused merge wrote its output directory")
			}
		})
	}
}

// TestWriteReplacesOnlyADelta: writing a delta again replaces the earlier
// one; a directory of that name that is not a delta is left alone, as is
// an existing merge output.
func TestWriteReplacesOnlyADelta(t *testing.T) {
	rs := releases(t, "1", "2")
	r1, r2 := rs[0], rs[1]
	out := t.TempDir()
	first, err := Write(context.Background(), r2.Dir, load(t, r1.Dir), out)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(first.Dir, "stale")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := Write(context.Background(), r2.Dir, load(t, r1.Dir), out)
	if err != nil || second.Dir != first.Dir {
		t.Fatalf("second write: %v, %v", second, err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the earlier delta's stale file: %v", err)
	}
	if rep := check(t, second.Dir, load(t, r1.Dir)); !rep.OK() {
		t.Fatalf("the rewritten delta:\n%s", problems(rep))
	}
	other := t.TempDir()
	keep := filepath.Join(other, filepath.Base(first.Dir), "keep")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keep, []byte("mine"), 0o644)
	if _, err := Write(context.Background(), r2.Dir, load(t, r1.Dir), other); err == nil || !strings.Contains(err.Error(), "is not a delta") {
		t.Fatalf("write over a non-delta: %v", err)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Fatalf("the non-delta directory changed: %q, %v", b, err)
	}
	merged := t.TempDir()
	got, _, err := Merge(context.Background(), load(t, r1.Dir), second.Dir, merged, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Merge(context.Background(), load(t, r1.Dir), second.Dir, merged, nil); err == nil || !strings.Contains(err.Error(), "is not replaced") {
		t.Fatalf("a second merge into %s: %v", got, err)
	}
	if ents, _ := os.ReadDir(merged); len(ents) != 1 {
		t.Fatalf("the refused merge left %d entries in its output directory", len(ents))
	}
}

// TestFailedMergeLeavesNoDirectory: the directories a merge makes for -o
// are removed again when it fails, innermost first, and never one it did
// not make or one something else has filled meanwhile.
func TestFailedMergeLeavesNoDirectory(t *testing.T) {
	top := t.TempDir()
	out := filepath.Join(top, "a", "b", "c")
	made := missingDirs(out)
	if want := []string{out, filepath.Join(top, "a", "b"), filepath.Join(top, "a")}; !slices.Equal(made, want) {
		t.Fatalf("missingDirs = %q, want %q", made, want)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	removeEmpty(made)
	if _, err := os.Stat(filepath.Join(top, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the made directories are left: %v", err)
	}
	if _, err := os.Stat(top); err != nil {
		t.Fatalf("a directory the merge did not make is gone: %v", err)
	}
	made = missingDirs(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(top, "a", "b", "other")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	removeEmpty(made)
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a file put beside the merge's directory is gone: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the empty output directory is left: %v", err)
	}
}
