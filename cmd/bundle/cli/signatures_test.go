package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/repo"
)

// centosTestdata fetches real CentOS/EPEL packages and their keys, other
// projects' test data, through the Go module proxy.
func centosTestdata(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/cavaliercoder/go-rpm@v0.0.0-20200122174316-8cb9fd9c31a8")
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Error != "" {
		t.Fatalf("go mod download (the Go module proxy must be reachable): %v %v %s", err, jerr, info.Error)
	}
	return filepath.Join(info.Dir, "testdata")
}

// TestRepoIndexListsSignatures: real V3-signed packages index without
// keys, and --json and -v say which signature kinds and key ids each
// carries.
func TestRepoIndexListsSignatures(t *testing.T) {
	td := centosTestdata(t)
	dir := t.TempDir()
	testutil.CopyFiles(t, dir, filepath.Join(td, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"),
		filepath.Join(td, "centos-release-5-0.0.el5.centos.2.i386.rpm"), filepath.Join(td, "centos-release-as-2.1AS-4.noarch.rpm"))
	code, stdout, stderr := run(t, "repo", "index", dir, "--json")
	if code != 0 {
		t.Fatalf("repo index --json: exit %d\n%s", code, stderr)
	}
	var res repo.IndexResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ps := range res.Signatures {
		got[ps.Location] = strings.Join(ps.Summary, "; ")
	}
	want := map[string]string{
		"centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm": "V3 RSA/SHA256 key 24c6a8a7f4a80eb5 (RSAHEADER, PGP)",
		"centos-release-5-0.0.el5.centos.2.i386.rpm":         "V3 DSA/SHA1 key a8a447dce8562897 (DSAHEADER, GPG)",
		"centos-release-as-2.1AS-4.noarch.rpm":               "V3 DSA/SHA1 key 2802e89216ff0e46 (GPG)",
	}
	for loc, w := range want {
		if got[loc] != w {
			t.Errorf("%s: signatures %q, want %q", loc, got[loc], w)
		}
	}
	code, stdout, stderr = run(t, "repo", "index", dir, "-v")
	if code != 0 || !strings.Contains(stdout, "centos-release-5-0.0.el5.centos.2.i386.rpm: V3 DSA/SHA1 key a8a447dce8562897 (DSAHEADER, GPG)") {
		t.Errorf("repo index -v: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestBuildInspectSignatures: a site whose repo holds real EPEL/CentOS 7
// packages builds without gpg_keys (signatures listed) and with the
// CentOS 7 key (signatures verified), and inspect shows them per package.
func TestBuildInspectSignatures(t *testing.T) {
	td := centosTestdata(t)
	for _, tc := range []struct {
		name, keys, want string
	}{
		{"no gpg_keys", "", "V3 RSA/SHA256 key 24c6a8a7f4a80eb5 (RSAHEADER, PGP)\n"},
		{"CentOS 7 key", `gpg_keys = ["keys/RPM-GPG-KEY-CentOS-7"]`, "V3 RSA/SHA256 key 24c6a8a7f4a80eb5 (RSAHEADER, PGP), verified\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
			src := site(t)
			testutil.CopyFiles(t, filepath.Join(src, "rpms", "centos"), filepath.Join(td, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"), filepath.Join(td, "epel-release-7-5.noarch.rpm"))
			testutil.CopyFiles(t, filepath.Join(src, "keys"), filepath.Join(td, "RPM-GPG-KEY-CentOS-7"))
			hcl := filepath.Join(src, "site.hcl")
			b, err := os.ReadFile(hcl)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, []byte("\nrepo \"centos\" {\n  version  = \"7\"\n  packages = [\"rpms/centos\"]\n  base_url = \"http://yum.example.com/centos/7/\"\n  "+tc.keys+"\n}\n")...)
			if err := os.WriteFile(hcl, b, 0o644); err != nil {
				t.Fatal(err)
			}
			dist := filepath.Join(t.TempDir(), "dist")
			code, stdout, stderr := run(t, "build", src, "-o", dist, "--json", "-q")
			if code != 0 {
				t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
			}
			var res struct{ Dir string }
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr = run(t, "inspect", res.Dir)
			if code != 0 {
				t.Fatalf("inspect: exit %d\n%s", code, stderr)
			}
			for _, line := range strings.Split(stdout, "\n") {
				if strings.Contains(line, "epel-release-7-5.noarch") && !strings.HasSuffix(line+"\n", tc.want) {
					t.Errorf("inspect line %q should end with %q", line, tc.want)
				}
				if strings.Contains(line, "mesos-0.22.0-1.0.centos65.x86_64") && !strings.HasSuffix(line, "unsigned") {
					t.Errorf("inspect line %q should say unsigned", line)
				}
			}
			if !strings.Contains(stdout, "epel-release-7-5.noarch") {
				t.Errorf("inspect does not list the EPEL package:\n%s", stdout)
			}
		})
	}
}
