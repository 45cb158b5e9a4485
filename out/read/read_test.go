package read

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
)

// smallBundle writes a bundle directory of two files and its plain tar
// archive, and returns both paths.
func smallBundle(t *testing.T) (dir, arch string) {
	t.Helper()
	out := t.TempDir()
	dir = filepath.Join(out, "s-1")
	files := map[string][]byte{"a/small": []byte("small\n"), "a/big": bytes.Repeat([]byte("x"), 4096)}
	m := &manifest.Manifest{Schema: manifest.Schema, Name: "s", Version: "1", Builder: "bundle test"}
	var entries []archive.Entry
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		m.Files = append(m.Files, manifest.FileEntry{Path: p, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Mode: "0644"})
		entries = append(entries, archive.Entry{Path: p, Size: int64(len(data))})
	}
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	entries = append(entries, archive.Entry{Path: manifest.FileName, Size: int64(len(data))})
	arch = archive.Path(out, "s-1", archive.FormatTar)
	f, err := os.Create(arch)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := archive.Write(context.Background(), f, dir, "s-1", entries, archive.FormatTar, 0, 1, progress.Discard.Start("", 0)); err != nil {
		t.Fatal(err)
	}
	return dir, arch
}

// TestManifestAndFiles: a directory and its archive read the same:
// bundle.json parsed, the files asked for within their limits, larger
// ones and unsafe names left out.
func TestManifestAndFiles(t *testing.T) {
	dir, arch := smallBundle(t)
	ctx := context.Background()
	for _, p := range []string{dir, arch} {
		m, err := Manifest(ctx, p)
		if err != nil || m.Dir() != "s-1" || len(m.Files) != 2 {
			t.Fatalf("Manifest(%s) = %+v, %v", p, m, err)
		}
		got, err := Files(ctx, p, map[string]int64{"a/small": 100, "a/big": 100, "../escape": 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || string(got["a/small"]) != "small\n" {
			t.Errorf("Files(%s) = %q; want only a/small", p, got)
		}
	}
	if _, err := Manifest(ctx, filepath.Join(dir, "a")); err == nil || !strings.Contains(err.Error(), "not a bundle directory") {
		t.Errorf("Manifest of a directory without bundle.json: %v", err)
	}
}

// TestSmallBound: a metadata file larger than manifest.MaxMetaSize is
// refused, not read whole.
func TestSmallBound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bundle.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(manifest.MaxMetaSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Small(p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Small of an oversized file: %v", err)
	}
}

// TestVolumeInfoStopsAtManifest: VolumeInfo reads an archive only as far
// as bundle.json: an archive damaged right after it, which a full read
// refuses, still names its bundle.
func TestVolumeInfoStopsAtManifest(t *testing.T) {
	dir, arch := smallBundle(t)
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(dir, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(arch)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(whole, data)
	if i < 0 {
		t.Fatal("bundle.json not found in the plain tar archive")
	}
	end := (i + len(data) + 511) / 512 * 512
	if end >= len(whole) {
		t.Fatalf("bundle.json ends the archive at %d of %d bytes: nothing after it to damage", end, len(whole))
	}
	for k := end; k < len(whole); k++ {
		whole[k] = 0xff // no tar header: a full read stops with an error here
	}
	if err := os.WriteFile(arch, whole, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Files(ctx, arch, map[string]int64{manifest.FileName: manifest.MaxMetaSize}); err == nil {
		t.Fatal("a full read of the damaged archive succeeded: the damage shows nothing")
	}
	info, m, err := VolumeInfo(ctx, arch)
	sum := sha256.Sum256(data)
	if err != nil || m.Dir() != "s-1" || info.BundleSHA256 != hex.EncodeToString(sum[:]) || info.Name != "s" || info.Version != "1" {
		t.Fatalf("VolumeInfo = %+v, %v, %v", info, m, err)
	}
}
