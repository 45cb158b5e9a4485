package archive_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/inspect"
	"github.com/bdebundle/bundle/out/internal/builttest"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
)

// craft is one entry of a test archive: a header (Size as given) and data
// of that size (zeros unless data is set); cut ends the stream after the
// header, as a bomb need not carry the bytes it claims.
type craft struct {
	h    tar.Header
	data []byte
	cut  bool
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// writeCrafted writes the entries as an archive of format f into dir.
func writeCrafted(t *testing.T, dir string, f archive.Format, entries []craft) string {
	t.Helper()
	p := filepath.Join(dir, "mesos-site-2015.03.1."+string(f))
	file, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var cw io.WriteCloser
	switch f {
	case archive.FormatTarZst:
		cw, err = zstd.NewWriter(file, zstd.WithEncoderLevel(zstd.SpeedFastest))
	case archive.FormatTarGz:
		cw, err = gzip.NewWriterLevel(file, gzip.BestSpeed)
	default:
		cw = nopCloser{file}
	}
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(cw)
	zeros := make([]byte, 1<<20)
	cut := false
	for _, e := range entries {
		h := e.h
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if e.cut {
			tw.Flush()
			cut = true
			break
		}
		if e.data != nil {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for n := h.Size; n > 0; {
			k := min(n, int64(len(zeros)))
			if _, err := tw.Write(zeros[:k]); err != nil {
				t.Fatal(err)
			}
			n -= k
		}
	}
	if !cut {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

const boundsTop = "mesos-site-2015.03.1/"

// boundsBundle builds a small bundle with a 1 MiB file of zeros and returns
// its directory and its metadata and file entries in the writer's order.
func boundsBundle(t *testing.T) (dir string, meta, files []craft) {
	t.Helper()
	plan := &compiler.Plan{Name: "mesos-site", Version: "2015.03.1", Epoch: 1426032000, DefinitionDigest: strings.Repeat("0", 64),
		Files: []*compiler.File{
			{Path: "clusters/mesos01/zero.bin", Mode: 0o644, Data: make([]byte, 1<<20)},
			{Path: "serengeti/www/distros/manifest", Mode: 0o644, Data: []byte("[]\n")},
		},
	}
	res, err := builttest.Build(context.Background(), plan, t.TempDir(), builder.Options{Format: archive.FormatTar, NoCache: true, NoArchive: true, BuilderVersion: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(rel string) craft {
		data, err := os.ReadFile(filepath.Join(res.Dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return craft{h: tar.Header{Name: boundsTop + rel, Typeflag: tar.TypeReg, Size: int64(len(data))}, data: data}
	}
	d := func(rel string) craft {
		return craft{h: tar.Header{Name: boundsTop + rel, Typeflag: tar.TypeDir, Mode: 0o755}}
	}
	meta = []craft{d(""), read(manifest.SumsName), read(manifest.FileName)}
	files = []craft{d("clusters/"), d("clusters/mesos01/"), read("clusters/mesos01/zero.bin"),
		d("serengeti/"), d("serengeti/www/"), d("serengeti/www/distros/"), read("serengeti/www/distros/manifest")}
	return res.Dir, meta, files
}

// mustVerify fails the test unless the bundle at p verifies.
func mustVerify(t *testing.T, p string, opts verify.Options) {
	t.Helper()
	rep, err := verify.Verify(context.Background(), p, opts)
	if err != nil || !rep.OK() {
		t.Fatalf("verify %s: %v %+v", p, err, rep)
	}
}

func reg(rel string, size int64) craft {
	return craft{h: tar.Header{Name: boundsTop + rel, Typeflag: tar.TypeReg, Size: size}}
}

func join(parts ...[]craft) []craft {
	var out []craft
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestArchiveBounds: every reader of archives (extract, verify, inspect,
// the streamed walk of images push) refuses an entry bundle.json does not
// bound before reading its data, and stops a stream that expands beyond
// bundle.json's sizes.
func TestArchiveBounds(t *testing.T) {
	_, meta, files := boundsBundle(t)
	resized := func(i int, size int64) []craft {
		fs := append([]craft(nil), files...)
		fs[i].h.Size, fs[i].data = size, nil
		return fs
	}
	const zero = "clusters/mesos01/zero.bin"
	var early []craft // 1 MiB entries before bundle.json, beyond the limit
	for i := range archive.PreManifestLimit>>20 + 2 {
		early = append(early, reg(fmt.Sprintf("clusters/a%04d", i), 1<<20))
	}
	var dups []craft // the listed 1 MiB file again and again
	for range 200 {
		dups = append(dups, reg(zero, 1<<20))
	}
	cases := []struct {
		name    string
		f       archive.Format
		entries []craft
		want    string
		// extract, when set, is what Extract says instead (it stops at
		// the first duplicate on its own).
		extract string
	}{
		{"larger than bundle.json says", archive.FormatTar, join(meta, resized(2, 1<<20+1)), `"` + boundsTop + zero + `" is 1048577 bytes in the archive, bundle.json says 1048576`, ""},
		{"smaller than bundle.json says", archive.FormatTarGz, join(meta, resized(2, 10)), `is 10 bytes in the archive, bundle.json says 1048576`, ""},
		{"huge header after bundle.json", archive.FormatTarZst, join(meta, files[:2], []craft{{h: reg(zero, 1<<40).h, cut: true}}), `is 1099511627776 bytes in the archive, bundle.json says 1048576`, ""},
		{"file not in bundle.json", archive.FormatTar, join(meta, files, []craft{reg("serengeti/extra", 3)}), `"` + boundsTop + `serengeti/extra" is not listed in bundle.json`, ""},
		{"directory not in bundle.json", archive.FormatTar, join(meta, files, []craft{{h: tar.Header{Name: boundsTop + "zz/", Typeflag: tar.TypeDir, Mode: 0o755}}}), `directory "` + boundsTop + `zz/" holds no file bundle.json lists`, ""},
		{"unlisted file before bundle.json", archive.FormatTarGz, join(meta[:2], []craft{reg("0extra", 5)}, meta[2:], files), `"` + boundsTop + `0extra" is not listed in bundle.json (read before bundle.json)`, ""},
		{"wrong size before bundle.json", archive.FormatTar, join(meta[:2], []craft{reg(zero, 7)}, meta[2:], files), `is 7 bytes in the archive, bundle.json says 1048576 (read before bundle.json)`, ""},
		{"huge header before bundle.json", archive.FormatTarZst, join(meta[:2], []craft{{h: reg("clusters/x", 1<<40).h, cut: true}}), `"` + boundsTop + `clusters/x" is 1099511627776 bytes, more than the`, ""},
		{"huge bundle.json", archive.FormatTarGz, join(meta[:2], []craft{{h: reg(manifest.FileName, manifest.MaxMetaSize+1).h, cut: true}}), fmt.Sprintf("is %d bytes, more than the %d bytes allowed for bundle.json", manifest.MaxMetaSize+1, manifest.MaxMetaSize), ""},
		{"bomb before bundle.json", archive.FormatTarZst, join(meta[:2], early, meta[2:], files), "bytes left for entries before bundle.json", ""},
		{"bomb after bundle.json", archive.FormatTarZst, join(meta, files, dups), "the archive expands beyond what bundle.json allows", "appears twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			p := writeCrafted(t, t.TempDir(), c.f, c.entries)

			dest := t.TempDir()
			got, _, err := verify.Extract(ctx, p, dest, verify.Options{})
			want, refused := c.want, true
			if c.extract != "" {
				want, refused = c.extract, false
			}
			var ae *archive.Error
			if err == nil || !errors.As(err, &ae) || ae.Refused != refused || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
				t.Errorf("Extract = %q, %v; want a refusal naming %s with %q", got, err, p, want)
			}
			if ents, err := os.ReadDir(dest); err != nil || len(ents) > 0 {
				t.Errorf("Extract left %v (%v)", ents, err)
			}

			rep, err := verify.Verify(ctx, p, verify.Options{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, pr := range rep.Problems {
				found = found || strings.Contains(pr.Problem, c.want)
			}
			if !found {
				t.Errorf("Verify problems %+v; want one with %q", rep.Problems, c.want)
			}

			if _, err := inspect.Bundle(ctx, p); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Inspect: %v; want %q", err, c.want)
			}

			err = archive.WalkFiles(ctx, p, func(rel string, size int64, r io.Reader) error {
				_, err := io.Copy(io.Discard, r)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("archive.WalkFiles: %v; want %q", err, c.want)
			}
		})
	}
}

// TestArchiveBoundsAdmitGoodArchives: the crafted bundle in the writer's
// order, and the same bundle packed by GNU tar in PAX format (extra
// records per entry, directory order, bundle.json anywhere), are read in
// full by every reader.
func TestArchiveBoundsAdmitGoodArchives(t *testing.T) {
	dir, meta, files := boundsBundle(t)
	ctx := context.Background()
	archives := map[string]string{}
	for _, f := range archive.Formats {
		archives["crafted "+string(f)] = writeCrafted(t, t.TempDir(), f, join(meta, files))
	}
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Fatalf("tar not found (install the Debian package tar): %v", err)
	}
	gnu := filepath.Join(t.TempDir(), "mesos-site-2015.03.1.tar")
	cmd := exec.Command(tarBin, "--format=pax", "-cf", gnu, "-C", filepath.Dir(dir), filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	archives["GNU tar pax"] = gnu
	for name, p := range archives {
		t.Run(name, func(t *testing.T) {
			mustVerify(t, p, verify.Options{})
			if _, err := inspect.Bundle(ctx, p); err != nil {
				t.Fatal(err)
			}
			got, _, err := verify.Extract(ctx, p, t.TempDir(), verify.Options{})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, got, verify.Options{})
			var n int64
			err = archive.WalkFiles(ctx, p, func(rel string, size int64, r io.Reader) error {
				k, err := io.Copy(io.Discard, r)
				n += k
				return err
			})
			if err != nil || n < 1<<20 {
				t.Fatalf("archive.WalkFiles read %d bytes: %v", n, err)
			}
		})
	}
}
