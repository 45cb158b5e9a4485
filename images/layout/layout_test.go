package layout_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/regular"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestHostileLayouts reads layouts that lie (sizes, digests), hold files
// that are no files (a FIFO, /dev/zero) or indexes that nest without end
// with every reader of layouts: lock, validate (images.Resolve reading every
// blob), build (images.Mirror), images list, push and verify. Each must end at
// once with a clear error and bounded memory.
func TestHostileLayouts(t *testing.T) {
	host := imagetest.StartGGCR(t, nil)
	type reader struct {
		name string
		run  func(ctx context.Context, dir string) error
	}
	spec := func(dir string) images.Spec { return images.Spec{Name: "web", Ref: "oci-layout:" + dir + ":web"} }
	readers := []reader{
		{"lock", func(ctx context.Context, dir string) error {
			_, err := images.Lock(ctx, []images.Spec{spec(dir)}, quick())
			return err
		}},
		{"validate", func(ctx context.Context, dir string) error {
			o := quick()
			o.VerifyLocal = true
			_, err := images.Resolve(ctx, "", []images.Spec{spec(dir)}, o)
			return err
		}},
		{"build", func(ctx context.Context, dir string) error {
			_, err := images.Mirror(ctx, filepath.Join(t.TempDir(), "out"), []images.Spec{spec(dir)}, quick())
			return err
		}},
		{"list", func(ctx context.Context, dir string) error { _, err := layout.List(dir); return err }},
		{"push", func(ctx context.Context, dir string) error {
			_, err := registry.Push(ctx, dir, host, registry.PushOptions{Options: quick().Options})
			return err
		}},
		{"verify", func(ctx context.Context, dir string) error { return layout.Verify(ctx, dir) }},
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
			imagetest.Mkfifo(t, filepath.Join(dir, "index.json"))
		}, all, regular.ErrNotRegular},
		{"index.json of 5 MiB", func(t *testing.T, dir string, _ v1.Descriptor) {
			p := filepath.Join(dir, "index.json")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, append(b, []byte(strings.Repeat(" ", 5<<20))...), 0o644); err != nil {
				t.Fatal(err)
			}
		}, all, regular.ErrTooLarge},
		{"manifest of 4 GiB, descriptor says its size", func(t *testing.T, dir string, m v1.Descriptor) {
			imagetest.Sparse(t, imagetest.BlobPath(dir, m), 4<<30)
		}, all, nil},
		{"manifest descriptor claims 1 TiB", func(t *testing.T, dir string, m v1.Descriptor) {
			m.Size = 1 << 40
			imagetest.SetEntries(t, dir, m)
		}, all, nil},
		{"manifest is a FIFO", func(t *testing.T, dir string, m v1.Descriptor) {
			imagetest.Mkfifo(t, imagetest.BlobPath(dir, m))
		}, all, nil},
		{"config descriptor claims 1 TiB", func(t *testing.T, dir string, m v1.Descriptor) {
			b, _ := os.ReadFile(imagetest.BlobPath(dir, m))
			var mf v1.Manifest
			if err := json.Unmarshal(b, &mf); err != nil {
				t.Fatal(err)
			}
			mf.Config.Size = 1 << 40
			raw, _ := json.Marshal(mf)
			imagetest.SetEntries(t, dir, imagetest.PutBlob(t, dir, m.MediaType, raw))
		}, []string{"validate", "build", "verify"}, layout.ErrTooLarge},
		{"layer of 4 GiB, descriptor says its size", func(t *testing.T, dir string, m v1.Descriptor) {
			b, _ := os.ReadFile(imagetest.BlobPath(dir, m))
			var mf v1.Manifest
			if err := json.Unmarshal(b, &mf); err != nil {
				t.Fatal(err)
			}
			imagetest.Sparse(t, imagetest.BlobPath(dir, mf.Layers[0]), 4<<30)
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
			if err := os.WriteFile(imagetest.BlobPath(dir, d), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			imagetest.SetEntries(t, dir, d)
		}, all, layout.ErrDigestMismatch},
		{"indexes nested 12 deep", func(t *testing.T, dir string, m v1.Descriptor) {
			d := m
			d.Annotations = nil
			for range 12 {
				raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}})
				d = imagetest.PutBlob(t, dir, types.OCIImageIndex, raw)
			}
			imagetest.SetEntries(t, dir, d)
		}, all, layout.ErrTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := imagetest.OneImageLayout(t)
			tc.break_(t, dir, m)
			for _, r := range readers {
				t.Run(r.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					start := time.Now()
					var err error
					grew := imagetest.HeapGrowth(func() { err = r.run(ctx, dir) })
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

// quick are the deadlines of the tests of hostile layouts.
func quick() images.Options {
	return images.Options{Options: registry.Options{AnswerTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, RequestTimeout: time.Second,
		ConnectTimeout: 300 * time.Millisecond, Retries: -1, Backoff: 10 * time.Millisecond}}
}

// FuzzLayout reads a layout whose index.json and one blob are the fuzzer's
// (the blob stored both under its digest and under a fixed name the
// index.json may name): no reader may panic, hang or fail to return.
func FuzzLayout(f *testing.F) {
	dir, m := imagetest.OneImageLayout(f)
	idx, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		f.Fatal(err)
	}
	man, err := os.ReadFile(imagetest.BlobPath(dir, m))
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
			{filepath.Join(d, "blobs", "sha256", imagetest.SHA256Hex(blob)), blob},
			{filepath.Join(d, "blobs", "sha256", strings.Repeat("ab", 32)), blob},
		} {
			if err := os.WriteFile(w.p, w.b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if g, err := layout.LoadDir(d); err == nil {
			for _, e := range g.Entries {
				_, _, _ = g.Open(e)
			}
		}
		_, _ = layout.List(d)
		_ = layout.Verify(ctx, d)
		o := images.Options{Options: registry.Options{Retries: -1}, VerifyLocal: true}
		_, _ = images.Resolve(ctx, "", []images.Spec{{Name: "x", Ref: "oci-layout:" + d}}, o)
		_, _ = images.Mirror(ctx, filepath.Join(t.TempDir(), "out"), []images.Spec{{Name: "x", Ref: "oci-layout:" + d}}, o)
		if ctx.Err() != nil {
			t.Fatalf("a layout reader ran past 10s: %q %q", index, blob)
		}
	})
}

// TestVerifyLayoutFindsProblems: Verify reports every problem of a
// layout at once: corrupt, missing and wrongly sized blobs.
func TestVerifyLayoutFindsProblems(t *testing.T) {
	host := imagetest.StartGGCR(t, nil)
	img := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], nil, 2, true)
	imagetest.PushImage(t, host+"/app:1", img)
	dir := filepath.Join(t.TempDir(), "images")
	ctx := context.Background()
	if _, err := images.Mirror(ctx, dir, []images.Spec{{Name: "app", Ref: host + "/app:1"}}, images.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := layout.Verify(ctx, dir); err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	blob := func(h v1.Hash) string { return filepath.Join(dir, "blobs", "sha256", h.Hex) }
	// Corrupt one layer, remove the other, and leave a stray file.
	if err := os.WriteFile(blob(m.Layers[0].Digest), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blob(m.Layers[1].Digest)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", "notahash"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = layout.Verify(ctx, dir)
	var le *layout.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a layout.Error", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"blobs/sha256/" + m.Layers[0].Digest.Hex + ": content hashes to",
		"layer " + m.Layers[0].Digest.String() + " is 7 bytes",
		"layer " + m.Layers[1].Digest.String() + " is missing",
		"notahash: file name is not a sha256 digest",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(le.Problems) != 4 {
		t.Errorf("%d problems, want 4:\n%s", len(le.Problems), msg)
	}
	if err := layout.Verify(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "index.json") {
		t.Errorf("empty dir: %v", err)
	}
}
