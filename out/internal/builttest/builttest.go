// Package builttest builds the test site with the builder (package out/builder)
// for the tests of the packages that read built bundles (out/archive,
// out/verify, out/inspect, out/diff). The builder's own tests use
// out/internal/outtest directly: this package imports out.
package builttest

import (
	"context"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/internal/outtest"
)

// Options are build options isolated from the user's cache.
func Options(t testing.TB) builder.Options {
	return builder.Options{BuilderVersion: "v0.0.0-test", CacheDir: t.TempDir(), Templates: outtest.FakeTemplates{}}
}

// BuildSite builds the test site (with gen's extras) into a new directory.
func BuildSite(t *testing.T, gen string, opts builder.Options) (outDir string, res *builder.Result) {
	t.Helper()
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, gen)
	outDir = t.TempDir()
	res, err := Build(context.Background(), plan, outDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return outDir, res
}

// Build checks plan and builds it into outDir, as pipeline does.
func Build(ctx context.Context, plan *compiler.Plan, outDir string, opts builder.Options) (*builder.Result, error) {
	checked, err := builder.Check(plan)
	if err != nil {
		return nil, err
	}
	return builder.Build(ctx, checked, outDir, opts)
}
