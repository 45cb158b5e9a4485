package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/internal/outtest"
)

// TestArchiveIsWhatArchiveTarWrites: writeArchive emits tar headers with
// archive/tar and the content itself (straight into zstdframe's frames for
// tar.zst); the decompressed stream is byte for byte what a tar.Writer
// writes for the same entries: sizes on and off the 512-byte blocks, empty
// and executable files, a name long enough for PAX records, nested
// directories.
func TestArchiveIsWhatArchiveTarWrites(t *testing.T) {
	root := t.TempDir()
	long := strings.Repeat("d", 90) + "/" + strings.Repeat("n", 120) + ".rpm"
	files := []struct {
		path string
		size int
		exec bool
	}{
		{"a/empty", 0, false}, {"a/one", 1, true}, {"a/b/block", 512, false}, {"a/b/c/odd", 513, false},
		{"big", 5<<20 + 7, false}, {long, 100_000, false}, {"z", 511, true},
	}
	var entries []Entry
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, outtest.DetBytes(f.path, f.size), 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, Entry{Path: f.path, Size: int64(f.size), Exec: f.exec})
	}

	// The reference: every entry through one tar.Writer.
	var want bytes.Buffer
	tw := tar.NewWriter(&want)
	var items []*tar.Header
	items = append(items, &tar.Header{Name: "b-1/", Typeflag: tar.TypeDir, Mode: 0o755})
	seen := map[string]bool{}
	for _, e := range entries {
		for d := PathDir(e.Path); d != "" && !seen[d]; d = PathDir(d) {
			seen[d] = true
			items = append(items, &tar.Header{Name: "b-1/" + d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		mode := int64(0o644)
		if e.Exec {
			mode = 0o755
		}
		items = append(items, &tar.Header{Name: "b-1/" + e.Path, Typeflag: tar.TypeReg, Mode: mode, Size: e.Size})
	}
	sortHeaders(items)
	for _, h := range items {
		h.ModTime = time.Unix(1426032000, 0).UTC()
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(h.Name, "b-1/"))))
			if err != nil {
				t.Fatal(err)
			}
			tw.Write(b)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	for _, f := range Formats {
		var z bytes.Buffer
		if err := Write(context.Background(), &z, root, "b-1", entries, f, 1426032000, 2, progress.Discard.Start("", 0)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var r io.Reader = &z
		switch f {
		case FormatTarZst:
			d, err := zstd.NewReader(&z)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			r = d
		case FormatTarGz:
			d, err := gzip.NewReader(&z)
			if err != nil {
				t.Fatal(err)
			}
			r = d
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: %d bytes of tar differ from archive/tar's %d", f, len(got), want.Len())
		}
	}

	// A file that grew since it was listed is refused.
	grown := append([]Entry(nil), entries...)
	grown[0].Size = 0
	if err := os.WriteFile(filepath.Join(root, "a", "empty"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(context.Background(), io.Discard, root, "b-1", grown, FormatTarZst, 1426032000, 2, progress.Discard.Start("", 0))
	if err == nil || !strings.Contains(err.Error(), "size changed") {
		t.Errorf("a file that grew: %v", err)
	}
}

func sortHeaders(hs []*tar.Header) {
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && hs[j].Name < hs[j-1].Name; j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}
