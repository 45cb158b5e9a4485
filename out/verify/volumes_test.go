package verify

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/internal/builttest"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/read"

	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/volume"
)

// volumeSite builds the test site into a new directory.
func volumeSite(t testing.TB) *builder.Result {
	t.Helper()
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, "1")
	res, err := builttest.Build(context.Background(), plan, t.TempDir(), builder.Options{BuilderVersion: "v0.0.0-test", CacheDir: t.TempDir(), Templates: outtest.FakeTemplates{}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// splitSite builds the test site and splits its archive into volumes of
// size bytes; it returns the set's directory and manifest.
func splitSite(t *testing.T, size int64) (string, *volume.Manifest, string) {
	t.Helper()
	res := volumeSite(t)
	info, _, err := read.VolumeInfo(context.Background(), res.Archive)
	if err != nil {
		t.Fatal(err)
	}
	if info.BundleSHA256 != res.ManifestSHA256 {
		t.Fatalf("VolumeInfo: bundle id %s, build says %s", info.BundleSHA256, res.ManifestSHA256)
	}
	dir := filepath.Join(t.TempDir(), "media")
	m, mp, err := volume.Split(context.Background(), res.Archive, dir, size, info, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m, mp
}

func TestVolumeSetReadsAsArchive(t *testing.T) {
	dir, m, mp := splitSite(t, 100<<10)
	if len(m.Volumes) < 3 {
		t.Fatalf("only %d volumes; the test wants several", len(m.Volumes))
	}
	for _, p := range []string{dir, mp} {
		rep := mustVerify(t, p, Options{})
		if rep.Kind != "volumes" || rep.Files == 0 {
			t.Errorf("verify %s: kind %q, %d files", p, rep.Kind, rep.Files)
		}
	}
	n := 0
	if err := archive.WalkFiles(context.Background(), dir, func(string, int64, io.Reader) error { n++; return nil }); err != nil || n == 0 {
		t.Fatalf("WalkArchiveFiles: %d files, %v", n, err)
	}
	dest := t.TempDir()
	got, rep, err := Extract(context.Background(), mp, dest, Options{})
	if err != nil || got == "" || !rep.OK() {
		t.Fatalf("Extract: %q, %+v, %v", got, rep, err)
	}
}

// TestVolumeSetFaults: every fault of a set is a problem of verify naming
// the volume, also in the last volume, past the end of the tar stream;
// Extract leaves nothing behind.
func TestVolumeSetFaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(dir string, m *volume.Manifest)
		want   func(m *volume.Manifest) string
	}{
		{"flipped byte in volume 1", flipAt(0, 1000), func(m *volume.Manifest) string { return fmt.Sprintf("volume 1 of %d", len(m.Volumes)) }},
		{"flipped byte in the last volume", func(dir string, m *volume.Manifest) {
			flipAt(len(m.Volumes)-1, int(m.Volumes[len(m.Volumes)-1].Size-3))(dir, m)
		}, func(m *volume.Manifest) string { return fmt.Sprintf("volume %d of %d", len(m.Volumes), len(m.Volumes)) }},
		{"missing volume", func(dir string, m *volume.Manifest) { os.Remove(filepath.Join(dir, m.Volumes[1].Name)) }, func(m *volume.Manifest) string {
			return fmt.Sprintf("volume 2 of %d (%s): volume set: missing", len(m.Volumes), m.Volumes[1].Name)
		}},
		{"another bundle's volume manifest", func(dir string, m *volume.Manifest) {
			p := filepath.Join(dir, volume.ManifestName(m.Archive))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), m.BundleSHA256, strings.Repeat("0", 64), 1)), 0o644)
		}, func(*volume.Manifest) string { return "the volume manifest names bundle" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, m, mp := splitSite(t, 100<<10)
			c.damage(dir, m)
			want := c.want(m)
			rep, err := Verify(context.Background(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || strings.Contains(p.Problem, want)
			}
			if !found {
				t.Fatalf("problems %+v, want one with %q", rep.Problems, want)
			}
			dest := t.TempDir()
			got, _, err := Extract(context.Background(), mp, dest, Options{})
			if got != "" {
				t.Fatalf("Extract of a damaged set: %q (%v)", got, err)
			}
			if ents, _ := os.ReadDir(dest); len(ents) != 0 {
				t.Fatalf("Extract of a damaged set left %d entries", len(ents))
			}
		})
	}
}

func flipAt(i, off int) func(dir string, m *volume.Manifest) {
	return func(dir string, m *volume.Manifest) {
		p := filepath.Join(dir, m.Volumes[i].Name)
		b, _ := os.ReadFile(p)
		b[off] ^= 0x40
		os.WriteFile(p, b, 0o644)
	}
}

// BenchmarkVerifyVolumes compares verify of one archive with verify of
// the same archive as a volume set in a directory (volumes of 256 KiB and
// of 4 MiB): what reading and hashing the volumes on the way costs.
//
//	go test ./out/verify -run '^$' -bench VerifyVolumes -benchtime 20x
func BenchmarkVerifyVolumes(b *testing.B) {
	res := volumeSite(b)
	info, _, err := read.VolumeInfo(context.Background(), res.Archive)
	if err != nil {
		b.Fatal(err)
	}
	paths := map[string]string{"archive": res.Archive}
	for _, size := range []int64{256 << 10, 4 << 20} {
		dir := filepath.Join(b.TempDir(), "set")
		if _, _, err := volume.Split(context.Background(), res.Archive, dir, size, info, nil); err != nil {
			b.Fatal(err)
		}
		paths[fmt.Sprintf("volumes-%dKiB", size>>10)] = dir
	}
	for _, name := range []string{"archive", "volumes-256KiB", "volumes-4096KiB"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(res.ArchiveSize)
			for b.Loop() {
				rep, err := Verify(context.Background(), paths[name], Options{})
				if err != nil || !rep.OK() {
					b.Fatalf("%v %+v", err, rep)
				}
			}
		})
	}
}
