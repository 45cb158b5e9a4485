package read

import (
	"context"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out"
	"github.com/bdebundle/bundle/out/internal/outtest"
)

// testOptions are build options isolated from the user's cache.
func testOptions(t testing.TB) out.BuildOptions {
	return out.BuildOptions{BuilderVersion: "v0.0.0-test", CacheDir: t.TempDir(), Templates: outtest.FakeTemplates{}}
}

// buildSite builds the test site (with gen's extras) into a new directory.
func buildSite(t *testing.T, gen string, opts out.BuildOptions) (outDir string, res *out.Result) {
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

// mustVerify fails the test unless the bundle at p verifies.
func mustVerify(t testing.TB, p string, opts VerifyOptions) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("verify %s: %v", p, err)
	}
	if !rep.OK() {
		t.Fatalf("verify %s: problems: %+v", p, rep.Problems)
	}
	return rep
}
