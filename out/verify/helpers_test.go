package verify

import (
	"context"
	"testing"
)

// mustVerify fails the test unless the bundle at p verifies.
func mustVerify(t testing.TB, p string, opts Options) *Report {
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
