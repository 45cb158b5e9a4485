package cli

import (
	"path/filepath"
	"testing"
)

// TestMissingPathSameExitCode: a path argument that names nothing is the
// same fault in every verb, with the same exit code (1).
func TestMissingPathSameExitCode(t *testing.T) {
	nx := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"validate", nx}, {"build", nx, "--plan"}, {"fmt", nx}, {"lock", nx},
		{"verify", nx}, {"inspect", nx}, {"diff", nx, nx}, {"images", "list", nx},
		{"deploy", nx, "--dry-run"},
	} {
		if code, _, errs := run(t, args...); code != ExitUser {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUser, errs)
		}
	}
}
