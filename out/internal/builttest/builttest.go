// Package builttest builds the test site with the builder (package out)
// for the tests of the packages that read built bundles (out/archive,
// out/verify, out/inspect, out/diff). The builder's own tests use
// out/internal/outtest directly: this package imports out.
package builttest

import (
	"context"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out"
	"github.com/bdebundle/bundle/out/internal/outtest"
)

// Options are build options isolated from the user's cache.
func Options(t testing.TB) out.BuildOptions {
	return out.BuildOptions{BuilderVersion: "v0.0.0-test", CacheDir: t.TempDir(), Templates: outtest.FakeTemplates{}}
}

// BuildSite builds the test site (with gen's extras) into a new directory.
func BuildSite(t *testing.T, gen string, opts out.BuildOptions) (outDir string, res *out.Result) {
	t.Helper()
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, gen)
	outDir = t.TempDir()
	res, err := out.Build(context.Background(), plan, outDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return outDir, res
}
