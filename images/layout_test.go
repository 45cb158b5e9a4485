package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/internal/testutil"
)

// testLayout writes an OCI layout holding one image named "web" and
// returns its directory and the image's manifest descriptor.
func testLayout(t testing.TB) (string, v1.Descriptor) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img := platformImage(t, testPlatforms[0], nil, 1, true)
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{AnnotationRefName: "web"})); err != nil {
		t.Fatal(err)
	}
	im := readIndexJSON(t, dir)
	return dir, im.Manifests[0]
}

func readIndexJSON(t testing.TB, dir string) *v1.IndexManifest {
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

func writeJSON(t testing.TB, p string, v any) []byte {
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

// putBlob stores b in the layout under its digest and returns its
// descriptor.
func putBlob(t testing.TB, dir string, mt types.MediaType, b []byte) v1.Descriptor {
	t.Helper()
	h := v1.Hash{Algorithm: "sha256", Hex: sha256Hex(b)}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(b))}
}

func setEntries(t testing.TB, dir string, ds ...v1.Descriptor) {
	t.Helper()
	for i := range ds {
		if ds[i].Annotations == nil {
			ds[i].Annotations = map[string]string{AnnotationRefName: "web"}
		}
	}
	writeJSON(t, filepath.Join(dir, "index.json"), v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ds})
}

func blobPath(dir string, d v1.Descriptor) string {
	return filepath.Join(dir, "blobs", "sha256", d.Digest.Hex)
}

// sparse replaces p by a sparse file of n bytes (its old content first).
func sparse(t testing.TB, p string, n int64) {
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

func mkfifo(t testing.TB, p string) {
	t.Helper()
	os.Remove(p)
	testutil.Mkfifo(t, p)
}

// TestHostileLayouts reads layouts that lie (sizes, digests), hold files
// that are no files (a FIFO, /dev/zero) or indexes that nest without end
// with every reader of layouts: lock, validate (Resolve reading every
// blob), build (Mirror), images list, push and verify. Each must end at
// once with a clear error and bounded memory.
func TestHostileLayouts(t *testing.T) {
	registry := startGGCR(t, nil)
	type reader struct {
		name string
		run  func(ctx context.Context, dir string) error
	}
	spec := func(dir string) Spec { return Spec{Name: "web", Ref: "oci-layout:" + dir + ":web"} }
	readers := []reader{
		{"lock", func(ctx context.Context, dir string) error {
			_, err := Lock(ctx, []Spec{spec(dir)}, quick())
			return err
		}},
		{"validate", func(ctx context.Context, dir string) error {
			o := quick()
			o.VerifyLocal = true
			_, err := Resolve(ctx, "", []Spec{spec(dir)}, o)
			return err
		}},
		{"build", func(ctx context.Context, dir string) error {
			_, err := Mirror(ctx, filepath.Join(t.TempDir(), "out"), []Spec{spec(dir)}, quick())
			return err
		}},
		{"list", func(ctx context.Context, dir string) error { _, err := List(dir); return err }},
		{"push", func(ctx context.Context, dir string) error { _, err := Push(ctx, dir, registry, quick()); return err }},
		{"verify", func(ctx context.Context, dir string) error { return VerifyLayout(ctx, dir) }},
	}
	all := []string{"lock", "validate", "build", "list", "push", "verify"}
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, dir string, m v1.Descriptor)
		fail   []string // readers that must fail (the others read nothing broken)
		want   error    // nil: any clear error
	}{
		{"index.json is /dev/zero", func(t *testing.T, dir string, _ v1.Descriptor) {
			p := filepath.Join(dir, "index.json")
			os.Remove(p)
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
		}, all, regular.ErrNotRegular},
		{"index.json is a FIFO", func(t *testing.T, dir string, _ v1.Descriptor) {
			mkfifo(t, filepath.Join(dir, "index.json"))
		}, all, regular.ErrNotRegular},
		{"index.json of 5 MiB", func(t *testing.T, dir string, _ v1.Descriptor) {
			p := filepath.Join(dir, "index.json")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, append(b, []byte(strings.Repeat(" ", 5<<20))...), 0o644); err != nil {
				t.Fatal(err)
			}
		}, all, regular.ErrTooLarge},
		{"manifest of 4 GiB, descriptor says its size", func(t *testing.T, dir string, m v1.Descriptor) {
			sparse(t, blobPath(dir, m), 4<<30)
		}, all, nil},
		{"manifest descriptor claims 1 TiB", func(t *testing.T, dir string, m v1.Descriptor) {
			m.Size = 1 << 40
			setEntries(t, dir, m)
		}, all, nil},
		{"manifest is a FIFO", func(t *testing.T, dir string, m v1.Descriptor) {
			mkfifo(t, blobPath(dir, m))
		}, all, nil},
		{"config descriptor claims 1 TiB", func(t *testing.T, dir string, m v1.Descriptor) {
			b, _ := os.ReadFile(blobPath(dir, m))
			var mf v1.Manifest
			if err := json.Unmarshal(b, &mf); err != nil {
				t.Fatal(err)
			}
			mf.Config.Size = 1 << 40
			raw, _ := json.Marshal(mf)
			setEntries(t, dir, putBlob(t, dir, m.MediaType, raw))
		}, []string{"validate", "build", "verify"}, ErrTooLarge},
		{"layer of 4 GiB, descriptor says its size", func(t *testing.T, dir string, m v1.Descriptor) {
			b, _ := os.ReadFile(blobPath(dir, m))
			var mf v1.Manifest
			if err := json.Unmarshal(b, &mf); err != nil {
				t.Fatal(err)
			}
			sparse(t, blobPath(dir, mf.Layers[0]), 4<<30)
		}, []string{"validate", "build", "push", "verify"}, nil},
		{"index names itself", func(t *testing.T, dir string, m v1.Descriptor) {
			// A blob whose name is not its content's digest: content
			// addressing cannot make a cycle, a file named by hand can.
			self := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
			raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
				Manifests: []v1.Descriptor{{MediaType: types.OCIImageIndex, Digest: self, Size: 1}}})
			raw, _ = json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
				Manifests: []v1.Descriptor{{MediaType: types.OCIImageIndex, Digest: self, Size: int64(len(raw))}}})
			d := v1.Descriptor{MediaType: types.OCIImageIndex, Digest: self, Size: int64(len(raw))}
			if err := os.WriteFile(blobPath(dir, d), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			setEntries(t, dir, d)
		}, all, ErrDigestMismatch},
		{"indexes nested 12 deep", func(t *testing.T, dir string, m v1.Descriptor) {
			d := m
			d.Annotations = nil
			for range 12 {
				raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}})
				d = putBlob(t, dir, types.OCIImageIndex, raw)
			}
			setEntries(t, dir, d)
		}, all, ErrTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := testLayout(t)
			tc.break_(t, dir, m)
			for _, r := range readers {
				t.Run(r.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					start := time.Now()
					var err error
					grew := heapGrowth(func() { err = r.run(ctx, dir) })
					took := time.Since(start)
					if took > 5*time.Second || ctx.Err() != nil {
						t.Errorf("took %s", took)
					}
					if grew > 64<<20 {
						t.Errorf("allocated %d MiB", grew>>20)
					}
					must := false
					for _, f := range tc.fail {
						must = must || f == r.name
					}
					if !must {
						return
					}
					if err == nil {
						t.Fatal("succeeded")
					}
					if tc.want != nil && !errors.Is(err, tc.want) && !strings.Contains(err.Error(), tc.want.Error()) {
						t.Fatalf("error %v, want %v", err, tc.want)
					}
					t.Logf("%v (%s, %d KiB)", err, took.Round(time.Millisecond), grew>>10)
				})
			}
		})
	}
}

// FuzzLayout reads a layout whose index.json and one blob are the fuzzer's
// (the blob stored both under its digest and under a fixed name the
// index.json may name): no reader may panic, hang or fail to return.
func FuzzLayout(f *testing.F) {
	dir, m := testLayout(f)
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		f.Fatal(err)
	}
	man, err := os.ReadFile(blobPath(dir, m))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(idx, man)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:`+strings.Repeat("ab", 32)+`","size":100}]}`),
		[]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:`+strings.Repeat("ab", 32)+`","size":100}]}`))
	f.Add([]byte(`{"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+strings.Repeat("ab", 32)+`","size":1099511627776}]}`), []byte(`{}`))
	f.Add([]byte(`{"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+strings.Repeat("ab", 32)+`","size":-1}]}`), []byte(``))
	f.Add([]byte(`[]`), []byte(`null`))
	f.Fuzz(func(t *testing.T, index, blob []byte) {
		d := t.TempDir()
		if err := os.MkdirAll(filepath.Join(d, "blobs", "sha256"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, w := range []struct {
			p string
			b []byte
		}{
			{filepath.Join(d, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`)},
			{filepath.Join(d, "index.json"), index},
			{filepath.Join(d, "blobs", "sha256", sha256Hex(blob)), blob},
			{filepath.Join(d, "blobs", "sha256", strings.Repeat("ab", 32)), blob},
		} {
			if err := os.WriteFile(w.p, w.b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, _ = openLayout(d, "")
		_, _ = List(d)
		_ = VerifyLayout(ctx, d)
		o := Options{VerifyLocal: true, Retries: -1}
		_, _ = Resolve(ctx, "", []Spec{{Name: "x", Ref: "oci-layout:" + d}}, o)
		_, _ = Mirror(ctx, filepath.Join(t.TempDir(), "out"), []Spec{{Name: "x", Ref: "oci-layout:" + d}}, o)
		if ctx.Err() != nil {
			t.Fatalf("a layout reader ran past 10s: %q %q", index, blob)
		}
	})
}

// TestHostileDockerArchive: a docker archive whose manifest.json or config
// is larger than the caps is refused from its tar headers, before
// go-containerregistry reads the entry into memory.
func TestHostileDockerArchive(t *testing.T) {
	for _, tc := range []struct {
		entry string
		size  int
	}{
		{"manifest.json", maxManifestSize + 1},
		{strings.Repeat("c", 64) + ".json", maxConfigSize + 1},
	} {
		t.Run(tc.entry, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "image.tar")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			tw := tar.NewWriter(f)
			if err := tw.WriteHeader(&tar.Header{Name: tc.entry, Mode: 0o644, Size: int64(tc.size), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(bytes.Repeat([]byte(" "), tc.size)); err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(tw.Close(), f.Close()); err != nil {
				t.Fatal(err)
			}
			_, err = Lock(context.Background(), []Spec{{Name: "web", Ref: "docker-archive:" + p}}, quick())
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.entry) {
				t.Fatalf("archive with a %d-byte %s: %v", tc.size, tc.entry, err)
			}
		})
	}
}
