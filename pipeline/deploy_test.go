package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/manifest"
)

// smallBundle builds a bundle of two files as a directory and a plain tar.
func smallBundle(t *testing.T) *builder.Result {
	t.Helper()
	plan := &compiler.Plan{Name: "small", Version: "1", Epoch: 1426032000, DefinitionDigest: strings.Repeat("0", 64),
		Files: []*compiler.File{
			{Path: "serengeti/www/distros/manifest", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "clusters/c/marker", Mode: 0o644, Data: []byte("MARKER-0123456789\n")},
		},
	}
	res, err := builder.Build(context.Background(), mustCheck(t, plan), t.TempDir(), builder.Options{Format: archive.FormatTar, NoCache: true, BuilderVersion: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestPrepareDeploy(t *testing.T) {
	ctx := context.Background()
	res := smallBundle(t)
	_, public := testutil.KeyPair(t, "Release")

	// A directory is used in place, verified with its bundle.json read
	// once: the bundle's digest is that of the bytes verified.
	prep, err := PrepareDeploy(ctx, res.Dir, PrepareOptions{})
	if err != nil || prep.Dir != res.Dir || prep.Extracted {
		t.Fatalf("directory: %+v %v", prep, err)
	}
	if sum := sha256.Sum256(must(os.ReadFile(filepath.Join(res.Dir, manifest.FileName)))); prep.Bundle == nil || prep.Bundle.SHA256 != hex.EncodeToString(sum[:]) || prep.Bundle.Dir != res.Dir {
		t.Fatalf("directory: bundle %+v, want bundle.json's sha256 %x", prep.Bundle, sum)
	}
	edited := filepath.Join(t.TempDir(), "small-1")
	if err := os.CopyFS(edited, os.DirFS(res.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(edited, "clusters/c/marker"), []byte("MARKER-X123456789\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ve *manifest.VerifyError
	if _, err := PrepareDeploy(ctx, edited, PrepareOptions{}); !errors.As(err, &ve) || !strings.Contains(err.Error(), "clusters/c/marker: sha256 is") {
		t.Fatalf("preparing an edited directory: %v", err)
	}

	// An archive is extracted and verified into a new directory of the
	// work dir, which Cleanup removes.
	work := t.TempDir()
	prep, err = PrepareDeploy(ctx, res.Archive, PrepareOptions{WorkDir: work})
	if err != nil || !prep.Extracted || filepath.Base(prep.Dir) != "small-1" || !strings.HasPrefix(prep.Dir, work+string(filepath.Separator)) {
		t.Fatalf("archive: %+v %v", prep, err)
	}
	if data, err := os.ReadFile(filepath.Join(prep.Dir, "clusters/c/marker")); err != nil || string(data) != "MARKER-0123456789\n" {
		t.Fatalf("extracted file: %q %v", data, err)
	}
	if sum := sha256.Sum256(must(os.ReadFile(filepath.Join(prep.Dir, manifest.FileName)))); prep.Bundle == nil || prep.Bundle.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("archive: bundle %+v, want the extracted bundle.json's sha256 %x", prep.Bundle, sum)
	}
	if err := prep.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if left := entries(t, work); len(left) > 0 {
		t.Fatalf("left in the work dir after Cleanup: %v", left)
	}

	data, err := os.ReadFile(res.Archive)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("MARKER-"))
	if i < 0 {
		t.Fatal("marker not found in the archive")
	}
	tampered := filepath.Join(t.TempDir(), filepath.Base(res.Archive))
	bad := bytes.Clone(data)
	bad[i+7] = 'X'
	if err := os.WriteFile(tampered, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), filepath.Base(res.Archive))
	if err := os.WriteFile(truncated, data[:i], 0o644); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name, archive string
		key           []byte
		want          string
	}{
		{"tampered", tampered, nil, "sha256 is"},
		{"truncated", truncated, nil, "unexpected EOF"},
		{"unsigned, a key given", res.Archive, public, "not signed"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			prep, err := PrepareDeploy(ctx, c.archive, PrepareOptions{WorkDir: work, Key: c.key})
			var ve *manifest.VerifyError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.archive) {
				t.Fatalf("PrepareDeploy = %+v, %v; want a *manifest.VerifyError naming the archive with %q", prep, err, c.want)
			}
			if left := entries(t, work); len(left) > 0 {
				t.Fatalf("left in the work dir: %v", left)
			}
		})
	}

	if _, err := PrepareDeploy(ctx, filepath.Join(t.TempDir(), "none.tar"), PrepareOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing archive: %v", err)
	}
}

// mustCheck returns plan checked by the builder, failing the test if it is refused.
func mustCheck(t *testing.T, plan *compiler.Plan) *builder.Checked {
	t.Helper()
	checked, err := builder.Check(plan)
	if err != nil {
		t.Fatal(err)
	}
	return checked
}
