package haproxyjudge

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// JudgesEnv names the environment variable `make conformance` sets to the
// judges directory (../shared/judges).
const JudgesEnv = "BUNDLE_JUDGES"

// Tarball is the HAProxy source in the judges directory: 1.5.2, the
// version CentOS 6.6 ships.
const Tarball = "haproxy-1.5.2.tar.gz"

// FromJudges returns the path of HAProxy 1.5.2 built from the judges
// directory. The test is skipped when BUNDLE_JUDGES is unset (make test)
// and fails when it is set but the tarball is missing or does not build.
func FromJudges(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(JudgesEnv)
	if dir == "" {
		t.Skipf("%s is unset: HAProxy 1.5.2 judges these files under make conformance", JudgesEnv)
	}
	tarball := filepath.Join(dir, Tarball)
	if _, err := os.Stat(tarball); err != nil {
		t.Fatalf("%s=%s but the HAProxy source is missing: %v", JudgesEnv, dir, err)
	}
	ctx := context.Background()
	bin, err := Build(ctx, tarball, "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := Version(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v, "version 1.5.2 ") {
		t.Fatalf("%s is %q, not HAProxy 1.5.2", bin, v)
	}
	return bin
}
