package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/inspect"
	"github.com/bdebundle/bundle/out/manifest"
)

// seedManifest returns a small valid bundle.json, encoded by the schema
// package.
func seedManifest(f *testing.F) []byte {
	zero := strings.Repeat("0", 64)
	m := &manifest.Manifest{Schema: manifest.Schema, Name: "s", Version: "1", Builder: "bundle test",
		Files: []manifest.FileEntry{{Path: "a/b", Size: 1, SHA256: zero, Mode: "0644"}}}
	data, err := m.Encode()
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzReadArchive: reading an archive (the format's walk, verify's and
// inspect's) never panics, never writes, and refuses entries outside the
// bundle directory.
func FuzzReadArchive(f *testing.F) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range []struct{ name, body string }{{"s-1/", ""}, {"s-1/bundle.json", string(seedManifest(f))}, {"s-1/a/b", "x"}} {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		tw.WriteHeader(h)
		tw.Write([]byte(e.body))
	}
	tw.Close()
	f.Add(b.Bytes())
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "s-1.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		_ = archive.WalkFiles(ctx, p, func(rel string, size int64, r io.Reader) error {
			if manifest.CheckRelPath(rel) != nil {
				t.Fatalf("read entry %q", rel)
			}
			return nil
		})
		_, _ = Verify(ctx, p, Options{})
		_, _ = inspect.Bundle(ctx, p)
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("reading the archive wrote into its directory: %v", ents)
		}
	})
}
