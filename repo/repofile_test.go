package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
	"github.com/google/rpmpack"
)

func TestRepoFile(t *testing.T) {
	tests := []struct {
		golden string
		keys   []string
	}{
		{"mesos-nokey.repo", nil},
		{"mesos-keys.repo", []string{"https://bde.localdomain/yum/RPM-GPG-KEY-mesosphere", "https://bde.localdomain/yum/RPM-GPG-KEY-bundle"}},
	}
	for _, tt := range tests {
		got := RepoFile("mesos", "Mesos 0.22.0", "https://bde.localdomain/yum/repos/mesos/0.22.0/", tt.keys)
		path := filepath.Join("testdata", tt.golden)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n%s\nwant\n%s", tt.golden, got, want)
		}
	}
}

// TestOddText: text that is not UTF-8 is converted from ISO-8859-1 and
// control characters are dropped, so dnf can read the result.
func TestOddText(t *testing.T) {
	rpmfixture.NeedTools(t, "dnf")
	dir := t.TempDir()
	rpmfixture.PackRPM(t, dir, rpmpack.RPMMetaData{
		Name: "odd-text", Summary: "caf\xe9 \x80cr\xe8me", Description: "bell\x07 and\x01 nul-free <&>\r\nend",
		Licence: "MIT", Packager: "ctl\x1b[0m", Epoch: rpmpack.NoEpoch,
	}, map[string][]byte{"/etc/odd/\xe9t\xe9.conf": []byte("x")})
	indexDir(t, dir, IndexOptions{})
	prim := string(readRepodataFiles(t, dir)["primary"])
	for _, want := range []string{"<summary>café crème</summary>", "bell and nul-free &lt;&amp;&gt;&#13;\nend", "<packager>ctl[0m</packager>", "<file>/etc/odd/été.conf</file>"} {
		if !strings.Contains(prim, want) {
			t.Errorf("primary.xml lacks %q:\n%s", want, prim)
		}
	}
	out, err := newDNF(t, dir).run("repoquery", "--queryformat", "%{summary}|%{description}", "odd-text")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "café crème|bell and nul-free <&>") {
		t.Errorf("dnf read %q", out)
	}
}
