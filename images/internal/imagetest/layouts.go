package imagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/testutil"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DirEmpty fails the test when dir holds anything.
func DirEmpty(t testing.TB, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

// OneImageLayout writes an OCI layout holding one image named "web" and
// returns its directory and the image's manifest descriptor.
func OneImageLayout(t testing.TB) (string, v1.Descriptor) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img := PlatformImage(t, TestPlatforms[0], nil, 1, true)
	if err := p.AppendImage(img, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationRefName: "web"})); err != nil {
		t.Fatal(err)
	}
	im := ReadIndexJSON(t, dir)
	return dir, im.Manifests[0]
}

func ReadIndexJSON(t testing.TB, dir string) *v1.IndexManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(b, &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

func WriteJSON(t testing.TB, p string, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// PutBlob stores b in the layout under its digest and returns its
// descriptor.
func PutBlob(t testing.TB, dir string, mt types.MediaType, b []byte) v1.Descriptor {
	t.Helper()
	h := v1.Hash{Algorithm: "sha256", Hex: SHA256Hex(b)}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(b))}
}

func SetEntries(t testing.TB, dir string, ds ...v1.Descriptor) {
	t.Helper()
	for i := range ds {
		if ds[i].Annotations == nil {
			ds[i].Annotations = map[string]string{layout.AnnotationRefName: "web"}
		}
	}
	WriteJSON(t, filepath.Join(dir, "index.json"), v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ds})
}

func BlobPath(dir string, d v1.Descriptor) string {
	return filepath.Join(dir, "blobs", "sha256", d.Digest.Hex)
}

// Sparse replaces p by a sparse file of n bytes (its old content first).
func Sparse(t testing.TB, p string, n int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(n); err != nil {
		t.Fatal(err)
	}
}

func Mkfifo(t testing.TB, p string) {
	t.Helper()
	os.Remove(p)
	testutil.Mkfifo(t, p)
}

// DirWalk reads a layout directory as a stream, files in the sorted order
// a bundle archive holds them.
func DirWalk(dir string) layout.WalkFunc {
	return func(ctx context.Context, visit func(rel string, size int64, r io.Reader) error) error {
		var rels []string
		err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			rels = append(rels, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(rels)
		for _, rel := range rels {
			if err := ctx.Err(); err != nil {
				return err
			}
			f, err := os.Open(filepath.Join(dir, rel))
			if err != nil {
				return err
			}
			st, _ := f.Stat()
			err = visit(rel, st.Size(), f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// ModuleDir is the directory of module path in the module cache (go mod
// download fetches it from the module proxy when missing).
func ModuleDir(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", path).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", path, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", path, err, out)
	}
	return m.Dir
}

func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
