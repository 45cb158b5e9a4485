package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/internal/builttest"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/klauspost/compress/gzip"
)

// countReporter hands out one Counter per task.
type countReporter struct {
	mu    sync.Mutex
	tasks map[string]*progress.Counter
}

func (r *countReporter) Start(name string, total int64) progress.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tasks == nil {
		r.tasks = map[string]*progress.Counter{}
	}
	c := &progress.Counter{}
	r.tasks[name] = c
	return c
}

// treeFile is what a test compares of one file of a tree.
type treeFile struct {
	mode fs.FileMode
	data string
}

// readTree returns every entry below root ("/"-separated relative paths);
// directories have an empty data and their mode.
func readTree(t *testing.T, root string) map[string]treeFile {
	t.Helper()
	out := map[string]treeFile{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		tf := treeFile{mode: fi.Mode()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tf.data = string(b)
		}
		out[filepath.ToSlash(rel)] = tf
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// smallBuild builds a small bundle with a nested executable and a file
// larger than the copy buffer, with the archive in format f.
func smallBuild(t *testing.T, f archive.Format) *builder.Result {
	t.Helper()
	plan := &compiler.Plan{Name: "mesos-site", Version: "2015.03.1", Epoch: 1426032000, DefinitionDigest: strings.Repeat("0", 64),
		Files: []*compiler.File{
			{Path: "serengeti/www/distros/manifest", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "serengeti/www/yum/mesos.repo", Mode: 0o644, Data: []byte("[mesos]\nname=mesos\n")},
			{Path: "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge", Mode: 0o755, Data: []byte("#!/bin/sh\necho bridge\n")},
			{Path: "clusters/mesos01/big.bin", Mode: 0o644, Data: outtest.DetBytes("big", 3<<20+17)},
		},
	}
	res, err := builttest.Build(context.Background(), plan, t.TempDir(), builder.Options{Format: f, NoCache: true, BuilderVersion: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func checkExtracted(t *testing.T, res *builder.Result, got string, opts Options) {
	t.Helper()
	if filepath.Base(got) != "mesos-site-2015.03.1" {
		t.Fatalf("extracted to %s", got)
	}
	mustVerify(t, got, opts)
	want, have := readTree(t, res.Dir), readTree(t, got)
	if len(want) != len(have) {
		t.Fatalf("built tree has %d entries, extracted %d", len(want), len(have))
	}
	for p, w := range want {
		h, ok := have[p]
		switch {
		case !ok:
			t.Errorf("%s: missing", p)
		case h.data != w.data:
			t.Errorf("%s: content differs", p)
		case h.mode != w.mode:
			t.Errorf("%s: mode %v, built %v", p, h.mode, w.mode)
		}
	}
	if fi, err := os.Stat(filepath.Join(got, "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("executable: %v %v", fi, err)
	}
}

// leftovers lists destDir's entries other than want.
func leftovers(t *testing.T, destDir string, want ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(destDir)
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	for _, e := range ents {
		if !slices.Contains(want, e.Name()) {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

func TestExtractRoundTrip(t *testing.T) {
	for _, f := range archive.Formats {
		t.Run(string(f), func(t *testing.T) {
			res := smallBuild(t, f)
			dest := t.TempDir()
			rep := &countReporter{}
			testutil.Umask(t, 0o077) // modes come from the archive, not the umask
			got, vrep, err := Extract(context.Background(), res.Archive, dest, Options{Progress: rep})
			if err != nil {
				t.Fatal(err)
			}
			if !vrep.OK() || vrep.Kind != "archive" || vrep.Path != res.Archive || vrep.Files != res.Files {
				t.Fatalf("report %+v", vrep)
			}
			checkExtracted(t, res, got, Options{})
			if extra := leftovers(t, dest, "mesos-site-2015.03.1"); len(extra) > 0 {
				t.Fatalf("left in the destination: %v", extra)
			}
			c := rep.tasks["extracting "+filepath.Base(res.Archive)]
			if c == nil || c.N.Load() != res.ArchiveSize || c.Errs.Load() != 0 {
				t.Fatalf("progress %+v, archive is %d bytes", c, res.ArchiveSize)
			}
			// Times come from the bundle epoch.
			fi, err := os.Stat(filepath.Join(got, manifest.FileName))
			if err != nil || !fi.ModTime().Equal(time.Unix(1426032000, 0)) {
				t.Fatalf("bundle.json time %v %v", fi, err)
			}

			// A second extraction never replaces the first.
			_, _, err = Extract(context.Background(), res.Archive, dest, Options{})
			if err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Fatalf("second extraction: %v", err)
			}
			if extra := leftovers(t, dest, "mesos-site-2015.03.1"); len(extra) > 0 {
				t.Fatalf("left in the destination: %v", extra)
			}
			mustVerify(t, got, Options{})
		})
	}
}

// TestExtractSignedSite extracts the full test site (repodata, template,
// signature) and checks the signature on the result.
func TestExtractSignedSite(t *testing.T) {
	secret, public := testutil.KeyPair(t, "Release")
	opts := builttest.Options(t)
	opts.SignKey = secret
	_, res := builttest.BuildSite(t, "1", opts)
	got, rep, err := Extract(context.Background(), res.Archive, t.TempDir(), Options{Key: public})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.SignedBy == "" || !rep.SBOM {
		t.Fatalf("report %+v", rep)
	}
	checkExtracted(t, res, got, Options{Key: public})
}

type tarEntry struct {
	h    *tar.Header
	data string
}

// writeTarGz writes a tar.gz of the entries into dir/name.
func writeTarGz(t *testing.T, dir, name string, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := *e.h
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// snapshot lists every path below root, sorted.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for p, f := range readTree(t, root) {
		out = append(out, p+" "+f.mode.String()+" "+f.data)
	}
	sort.Strings(out)
	return out
}

func TestExtractRefusesUnsafeArchives(t *testing.T) {
	dirH := func(name string) tarEntry {
		return tarEntry{h: &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
	}
	file := func(name, data string) tarEntry {
		return tarEntry{h: &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, data: data}
	}
	// Each archive starts with a good directory and file, so the refusal
	// comes after something was written to the temporary directory.
	good := []tarEntry{dirH("b-1/"), dirH("b-1/serengeti/"), file("b-1/serengeti/ok", "ok\n")}
	cases := []struct {
		name    string
		entries func(parent string) []tarEntry
		refused bool
		want    string
	}{
		{"dotdot at the top", func(string) []tarEntry { return []tarEntry{file("../x", "x")} }, true, "leaves the archive"},
		{"dotdot inside", func(string) []tarEntry { return append(good, file("b-1/../../escaped", "x")) }, true, "leaves the archive"},
		{"dotdot directory", func(string) []tarEntry { return append(good, dirH("b-1/../../escaped/")) }, true, "leaves the archive"},
		{"absolute", func(parent string) []tarEntry {
			return append(good, file(filepath.Join(parent, "escaped"), "x"))
		}, true, "absolute path"},
		{"symlink", func(parent string) []tarEntry {
			return append(good, tarEntry{h: &tar.Header{Name: "b-1/link", Typeflag: tar.TypeSymlink, Linkname: parent}},
				file("b-1/link/escaped", "x"))
		}, true, "bundles hold no links"},
		{"hard link", func(parent string) []tarEntry {
			return append(good, tarEntry{h: &tar.Header{Name: "b-1/hard", Typeflag: tar.TypeLink, Linkname: filepath.Join(parent, "victim")}})
		}, true, "bundles hold no links"},
		{"outside the prefix", func(string) []tarEntry { return append(good, file("other/escaped", "x")) }, true, "outside the bundle directory"},
		{"device", func(string) []tarEntry {
			return append(good, tarEntry{h: &tar.Header{Name: "b-1/dev", Typeflag: tar.TypeChar, Mode: 0o644}})
		}, true, "entry type"},
		{"top-level file", func(string) []tarEntry { return []tarEntry{file("escaped", "x")} }, true, "top of the archive"},
		{"duplicate file", func(string) []tarEntry { return append(good, file("b-1/serengeti/ok", "again\n")) }, false, "appears twice"},
		{"directory over a file", func(string) []tarEntry { return append(good, dirH("b-1/serengeti/ok/")) }, false, "already has a file"},
		{"file below a file", func(string) []tarEntry { return append(good, file("b-1/serengeti/ok/x", "x")) }, false, "is a file"},
		{"no bundle.json", func(string) []tarEntry { return good }, false, "no bundle.json"},
		{"empty", func(string) []tarEntry { return nil }, false, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			if err := os.WriteFile(filepath.Join(parent, "victim"), []byte("keep\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(parent, "dest")
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			p := writeTarGz(t, t.TempDir(), "b-1.tar.gz", c.entries(parent))
			before := snapshot(t, parent)
			cwd, _ := os.Getwd()

			got, _, err := Extract(context.Background(), p, dest, Options{})
			var ae *archive.Error
			if err == nil || !errors.As(err, &ae) || ae.Refused != c.refused || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Extract = %q, %v; want an archive error with %q (refused %v)", got, err, c.want, c.refused)
			}
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the archive: %v", err)
			}
			if after := snapshot(t, parent); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Fatalf("the parent changed:\nbefore %q\nafter  %q", before, after)
			}
			for _, q := range []string{filepath.Join(cwd, "escaped"), filepath.Join(cwd, "x"), filepath.Join(filepath.Dir(p), "escaped")} {
				if _, err := os.Lstat(q); err == nil {
					t.Fatalf("%s was written", q)
				}
			}
			// Verify refuses exactly the same unsafe entries.
			if c.refused {
				rep, err := Verify(context.Background(), p, Options{})
				if err != nil || rep.OK() || !strings.Contains(rep.Problems[0].Problem, "refused archive entry") {
					t.Fatalf("Verify: %v %+v", err, rep)
				}
			}
		})
	}
}

func TestExtractDamagedArchive(t *testing.T) {
	for _, f := range archive.Formats {
		res := smallBuild(t, f)
		data, err := os.ReadFile(res.Archive)
		if err != nil {
			t.Fatal(err)
		}
		for name, damaged := range map[string][]byte{
			"truncated":      data[:len(data)/2],
			"truncated 1k":   data[:1000],
			"not an archive": []byte("not a bundle\n"),
		} {
			t.Run(string(f)+"/"+name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), filepath.Base(res.Archive))
				if err := os.WriteFile(p, damaged, 0o644); err != nil {
					t.Fatal(err)
				}
				dest := t.TempDir()
				got, _, err := Extract(context.Background(), p, dest, Options{})
				var ae *archive.Error
				if err == nil || !errors.As(err, &ae) || ae.Refused {
					t.Fatalf("Extract = %q, %v; want an archive error", got, err)
				}
				if extra := leftovers(t, dest); len(extra) > 0 {
					t.Fatalf("left in the destination: %v", extra)
				}
			})
		}
	}
}

func TestExtractWrongTopDirectory(t *testing.T) {
	res := smallBuild(t, archive.FormatTarGz)
	data, err := os.ReadFile(filepath.Join(res.Dir, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	p := writeTarGz(t, t.TempDir(), "renamed.tar.gz", []tarEntry{
		{h: &tar.Header{Name: "renamed-1/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{h: &tar.Header{Name: "renamed-1/bundle.json", Typeflag: tar.TypeReg, Mode: 0o644}, data: string(data)},
	})
	dest := t.TempDir()
	_, _, err = Extract(context.Background(), p, dest, Options{})
	if err == nil || !strings.Contains(err.Error(), `names "mesos-site-2015.03.1"`) {
		t.Fatalf("Extract: %v", err)
	}
	if extra := leftovers(t, dest); len(extra) > 0 {
		t.Fatalf("left in the destination: %v", extra)
	}
}

func TestExtractCancelled(t *testing.T) {
	res := smallBuild(t, archive.FormatTarZst)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dest := t.TempDir()
	if _, _, err := Extract(ctx, res.Archive, dest, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Extract: %v", err)
	}
	if extra := leftovers(t, dest); len(extra) > 0 {
		t.Fatalf("left in the destination: %v", extra)
	}
}

// packDir writes dir (a bundle directory, possibly edited) as a .tar.gz
// made by GNU tar, in its directory order.
func packDir(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), filepath.Base(dir)+".tar.gz")
	if out, err := outtest.Command(t, "", "tar", "-czf", p, "-C", filepath.Dir(dir), filepath.Base(dir)).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return p
}

// TestExtractVerifies: Extract checks what it writes as Verify checks an
// archive, runs the deep checks over the extracted tree, and leaves
// nothing when the bundle has problems.
func TestExtractVerifies(t *testing.T) {
	secret, public := testutil.KeyPair(t, "Release")
	_, other := testutil.KeyPair(t, "Other")
	small := smallBuild(t, archive.FormatTarGz)
	opts := builttest.Options(t)
	opts.SignKey = secret
	_, signed := builttest.BuildSite(t, "1", opts)
	edited := func(edit func(dir string)) string {
		dir := copyTree(t, small.Dir)
		edit(dir)
		return packDir(t, dir)
	}
	rewrite := func(rel string, change func([]byte) []byte) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, change(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	flip := func(b []byte) []byte { b[len(b)/2] ^= 1; return b }
	badRepodata := errors.New("repomd.xml names a package that is not there")
	cases := []struct {
		name, archive string
		opts          Options
		path, want    string
	}{
		{"tampered file", edited(rewrite("clusters/mesos01/big.bin", flip)), Options{}, "clusters/mesos01/big.bin", "sha256 is"},
		{"edited SHA256SUMS", edited(rewrite(manifest.SumsName, flip)), Options{}, manifest.SumsName, "does not match bundle.json"},
		{"unsigned, a key given", small.Archive, Options{Key: public}, manifest.SignatureName, "not signed"},
		{"signed by another key", signed.Archive, Options{Key: other}, manifest.SignatureName, "bad signature"},
		{"deep check fails", signed.Archive, Options{Key: public, Repodata: func(context.Context, string) error { return badRepodata }}, "serengeti/www/yum/repos/mesos/0.22.0", badRepodata.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := t.TempDir()
			got, rep, err := Extract(context.Background(), c.archive, dest, c.opts)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got != "" || rep == nil || rep.OK() {
				t.Fatalf("Extract = %q, %+v; want problems", got, rep)
			}
			if !hasProblem(rep, c.path, c.want) {
				t.Errorf("problems %+v; want %s: %q", rep.Problems, c.path, c.want)
			}
			if extra := leftovers(t, dest); len(extra) > 0 {
				t.Fatalf("left in the destination: %v", extra)
			}
		})
	}

	// A good bundle: the deep checks see the extracted tree.
	dest := t.TempDir()
	var seen []string
	got, rep, err := Extract(context.Background(), signed.Archive, dest, Options{Key: public, Repodata: func(_ context.Context, dir string) error {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("not a directory: %v", err)
		}
		seen = append(seen, dir)
		return nil
	}})
	if err != nil || !rep.OK() {
		t.Fatalf("Extract: %v %+v", err, rep)
	}
	if len(seen) != 2 || !slices.Contains(rep.DeepRun, "repodata") {
		t.Fatalf("deep checks ran over %v (%v); want the two repos", seen, rep.DeepRun)
	}
	for _, d := range seen {
		if !strings.HasPrefix(d, dest+string(filepath.Separator)) {
			t.Errorf("deep check of %s, outside %s", d, dest)
		}
	}
	if got != filepath.Join(dest, "mesos-site-2015.03.1") {
		t.Fatalf("extracted to %s", got)
	}
}
