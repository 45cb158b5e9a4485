package inspect

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/internal/builttest"
)

// TestBundle: a signed bundle's directory and archive both inspect, with
// bundle.json's counts and the signature noticed.
func TestBundle(t *testing.T) {
	sec, _ := testutil.KeyPair(t, "release")
	opts := builttest.Options(t)
	opts.SignKey = sec
	_, res := builttest.BuildSite(t, "1", opts)
	for _, p := range []string{res.Dir, res.Archive} {
		in, err := Bundle(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if !in.Signed || in.Manifest.Name != "mesos-site" || len(in.Manifest.Repos) != 2 || in.Files != len(in.Manifest.Files) || in.Bytes == 0 {
			t.Errorf("%s: %+v", p, in)
		}
	}
	if _, err := Bundle(context.Background(), filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("inspect of a missing path succeeded")
	}
}
