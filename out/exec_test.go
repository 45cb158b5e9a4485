package out

import (
	"os/exec"
	"testing"
)

func execCommand(t testing.TB, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed by this test: %v", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd
}
