package cli

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// TestBuildSignRepos: with --sign-repos every repository's repomd.xml gets
// a detached signature by the --sign-key that gpg verifies, and the bundle
// still verifies; without --sign-key the flag is a usage error.
func TestBuildSignRepos(t *testing.T) {
	gpg := testutil.RequireTool(t, "gpg", "gnupg")
	secret, public := testutil.KeyPair(t, "Release")
	keys := t.TempDir()
	keyFile, pubFile := filepath.Join(keys, "release.asc"), filepath.Join(keys, "release.pub")
	if err := os.WriteFile(keyFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, public, 0o644); err != nil {
		t.Fatal(err)
	}
	src := site(t)

	if code, _, stderr := run(t, "build", src, "-o", filepath.Join(t.TempDir(), "d"), "-q", "--sign-repos"); code != 2 || !strings.Contains(stderr, "--sign-key") {
		t.Fatalf("--sign-repos without --sign-key: exit %d, %s; want a usage error naming --sign-key", code, stderr)
	}

	dist := filepath.Join(t.TempDir(), "dist")
	code, stdout, stderr := run(t, "build", src, "-o", dist, "--json", "-q", "--sign-key", keyFile, "--sign-repos")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	var res struct{ Dir string }
	err := json.Unmarshal([]byte(stdout), &res)
	if err != nil {
		t.Fatal(err)
	}
	var mds []string
	err = filepath.WalkDir(res.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "repomd.xml" {
			mds = append(mds, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mds) == 0 {
		t.Fatalf("no repodata/repomd.xml below %s", res.Dir)
	}
	home := t.TempDir()
	gpgRun := func(args ...string) (string, error) {
		cmd := exec.Command(gpg, append([]string{"--homedir", home, "--batch", "--no-tty"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := gpgRun("--import", pubFile); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	for _, md := range mds {
		out, err := gpgRun("--verify", md+".asc", md)
		if err != nil || !strings.Contains(out, "Good signature") {
			t.Errorf("gpg --verify %s.asc: %v\n%s", md, err, out)
		}
	}
	// A changed repomd.xml no longer verifies.
	b, err := os.ReadFile(mds[0])
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "repomd.xml")
	if err := os.WriteFile(tampered, append(b, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := gpgRun("--verify", mds[0]+".asc", tampered); err == nil {
		t.Errorf("gpg verified a changed repomd.xml:\n%s", out)
	}
	manifest, err := os.ReadFile(filepath.Join(res.Dir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manifest), "repodata/repomd.xml.asc") {
		t.Error("bundle.json does not list repomd.xml.asc")
	}
	if code, _, stderr := run(t, "verify", res.Dir, "-q", "--key", pubFile); code != 0 {
		t.Fatalf("verify of the signed bundle: exit %d\n%s", code, stderr)
	}
}
