package builder

import (
	"context"
	"testing"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/verify"
)

// testOptions are build options isolated from the user's cache.
func testOptions(t testing.TB) Options {
	return Options{BuilderVersion: "v0.0.0-test", CacheDir: t.TempDir(), Templates: outtest.FakeTemplates{}}
}

// mustVerify fails the test unless the bundle at p verifies.
func mustVerify(t testing.TB, p string, opts verify.Options) *verify.Report {
	t.Helper()
	rep, err := verify.Verify(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("verify %s: %v", p, err)
	}
	if !rep.OK() {
		t.Fatalf("verify %s: problems: %+v", p, rep.Problems)
	}
	return rep
}

// checkBuild checks plan and builds it, as pipeline does.
func checkBuild(ctx context.Context, plan *compiler.Plan, outDir string, opts Options) (*Result, error) {
	checked, err := Check(plan)
	if err != nil {
		return nil, err
	}
	return Build(ctx, checked, outDir, opts)
}
