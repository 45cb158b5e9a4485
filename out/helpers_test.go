package out

import (
	"context"
	"testing"

	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/verify"
)

// testOptions are build options isolated from the user's cache.
func testOptions(t testing.TB) BuildOptions {
	return BuildOptions{BuilderVersion: "v0.0.0-test", CacheDir: t.TempDir(), Templates: outtest.FakeTemplates{}}
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
