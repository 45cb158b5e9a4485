package repo

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bdebundle/bundle/internal/rpmcorpus"
)

// Index writes the same bytes whatever the worker count, whether primary
// is streamed (an epoch given) or written from the spill file after the
// scan (no epoch: the newest build time), as WriteRepodata writes from a
// scan, and as --update writes when nothing changed. The corpus has more
// packages than the window and large files read first, out of path order.
func TestIndexStreamsSameBytes(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	rpms, err := rpmcorpus.Generate(src, rpmcorpus.Options{Packages: 700, Large: 3, LargeMiB: 2, Seed: 5, Compressor: "gzip:1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want map[string][]byte
	for _, opts := range []IndexOptions{
		{Workers: 1, Epoch: rpmcorpus.BuildTime},
		{Workers: 2},
		{Workers: 5, Epoch: rpmcorpus.BuildTime},
		{Workers: 3},
		{Workers: 2, Epoch: rpmcorpus.BuildTime, Revision: "small window"},
		{Workers: 4, Revision: "small window"},
	} {
		if opts.Revision != "" {
			// A window of a few packages and bytes: the scan waits for the
			// writers all the time.
			w, b := orderedWindow, orderedBytes
			orderedWindow, orderedBytes = 3, 4<<10
			defer func() { orderedWindow, orderedBytes = w, b }()
			opts.Revision = ""
		}
		dir := t.TempDir()
		linkFiles(t, dir, rpms)
		res, err := Index(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Timestamp != rpmcorpus.BuildTime || res.Packages != len(rpms) {
			t.Fatalf("%+v: timestamp %d, %d packages", opts, res.Timestamp, res.Packages)
		}
		got := repodataBytes(t, dir)
		if want == nil {
			want = got
			// The library path: Scan, then WriteRepodata.
			pkgs, err := Scan(ctx, rpms, ScanOptions{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			lib := t.TempDir()
			if err := WriteRepodata(ctx, lib, pkgs, WriteOptions{Timestamp: rpmcorpus.BuildTime}); err != nil {
				t.Fatal(err)
			}
			sameRepodata(t, want, repodataBytes(t, lib))
			continue
		}
		sameRepodata(t, want, got)
		opts.Update = true
		res, err = Index(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reused != len(rpms) {
			t.Errorf("--update reused %d of %d", res.Reused, len(rpms))
		}
		sameRepodata(t, want, repodataBytes(t, dir))
	}
}

func linkFiles(t *testing.T, dir string, files []string) {
	t.Helper()
	for _, f := range files {
		if err := os.Link(f, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
}
