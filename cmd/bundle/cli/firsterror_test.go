package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// TestFirstErrorIsTheCause: for one mistake in each kind of input (a
// package directory or glob, a GPG key, an image source, a disk), the first
// diagnostic validate prints names the mistake itself, and the errors that
// follow from it are folded into it rather than printed before or after it.
func TestFirstErrorIsTheCause(t *testing.T) {
	cases := []struct {
		name       string
		old, new   string // replace old with new in baseSite
		extra      string // appended to the definition
		setup      func(t *testing.T, dir string)
		summary    string   // the first diagnostic's
		detail     []string // the first diagnostic's detail holds each
		followers  string   // "" (nothing folded) or the folded count's text
		noneAfter  string   // no later diagnostic's summary holds this
		suggestion string   // the first diagnostic's "Did you mean", if any
	}{
		{name: "package directory that does not exist", summary: "Missing package path", old: `packages = ["rpms"]`, new: `packages = ["rpms/mesos-0.21"]`,
			detail: []string{`"rpms/mesos-0.21" (relative to `, "does not exist"}, followers: "and 6 errors that follow from it, not shown: Role package missing ×4, Node package missing ×2", noneAfter: "Role package missing"},
		{name: "mistyped package directory", summary: "Missing package path", old: `packages = ["rpms"]`, new: `packages = ["rpm"]`,
			detail: []string{`"rpm" (relative to `, "does not exist"}, followers: "errors that follow from it", noneAfter: "Role package missing", suggestion: `Did you mean "rpms"?`},
		{name: "glob under a directory that does not exist", summary: "Missing package path", old: `packages = ["rpms"]`, new: `packages = ["rpms/mesos-0.21/*.rpm"]`,
			detail: []string{`"rpms/mesos-0.21" (relative to `, "does not exist", `"rpms/mesos-0.21/*.rpm" names no package`}, followers: "errors that follow from it", noneAfter: "Role package missing"},
		{name: "glob that matches nothing", summary: "No package matches", old: `packages = ["rpms"]`, new: `packages = ["rpms/none-*.rpm"]`,
			detail: []string{`"rpms/none-*.rpm" (relative to `, "matches no .rpm file"}, followers: "errors that follow from it", noneAfter: "Role package missing"},
		{name: "one of two package paths missing", summary: "Missing package path", old: `packages = ["rpms"]`, new: `packages = ["rpms", "rpms-extra"]`,
			detail: []string{`"rpms-extra" (relative to `, "does not exist"}},
		{name: "image source that does not exist", summary: "Missing image source", extra: "\nimage \"web\" {\n  ref = \"oci-layout:images/ngnix\"\n}\n",
			setup: func(t *testing.T, dir string) {
				if err := os.MkdirAll(filepath.Join(dir, "images", "nginx"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			detail: []string{`The image source "images/ngnix" (relative to `, "does not exist"}},
		{name: "disk that does not exist", summary: "Missing disk file", extra: "\nvm_template \"centos\" {\n  guest_os  = \"centos64Guest\"\n  cpu       = 2\n  memory_mb = 4096\n  disk      = \"disks/boot.vmdk\"\n}\n",
			detail: []string{`The disk "disks/boot.vmdk" (relative to `, "does not exist"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := baseSite
			if tc.old != "" {
				if !strings.Contains(src, tc.old) {
					t.Fatalf("case edits %q, which the base definition lacks", tc.old)
				}
				src = strings.Replace(src, tc.old, tc.new, 1)
			}
			dir := writeSite(t, src+tc.extra)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			checkFirst(t, dir, tc.summary, tc.detail, tc.followers, tc.noneAfter, tc.suggestion)
		})
	}
}

// TestFirstErrorIsTheMissingKey: a mistyped gpg_keys path is reported
// first; the signature it would have verified is not reported as an
// untrusted key but folded into it.
func TestFirstErrorIsTheMissingKey(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	td := centosTestdata(t)
	src := baseSite + "\nrepo \"centos\" {\n  version  = \"7\"\n  packages = [\"centos\"]\n  base_url = \"http://yum.example.com/centos/7/\"\n  gpg_keys = [\"keys/RPM-GPG-KEY-CentOS-6\", \"keys/RPM-GPG-KEY-CentOS7\"]\n}\n"
	dir := writeSite(t, src)
	testutil.CopyFiles(t, filepath.Join(dir, "centos"), filepath.Join(td, "centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm"))
	testutil.CopyFiles(t, filepath.Join(dir, "keys"), filepath.Join(td, "RPM-GPG-KEY-CentOS-6"), filepath.Join(td, "RPM-GPG-KEY-CentOS-7"))
	checkFirst(t, dir, "Missing GPG key file", []string{`GPG key "keys/RPM-GPG-KEY-CentOS7" (relative to `, "does not exist"}, "and 1 error that follows from it", "Bad package in repo centos", "")

	// With the key file named right but not listed, the refusal says
	// which keys are trusted.
	src = strings.Replace(src, `, "keys/RPM-GPG-KEY-CentOS7"`, "", 1)
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFirst(t, dir, "Bad package in repo centos", []string{"24c6a8a7f4a80eb5", "The trusted keys are 0946fca2c105b9de", "keys/RPM-GPG-KEY-CentOS-6"}, "", "", "")
}

// checkFirst runs validate --json on dir and checks its first diagnostic.
func checkFirst(t *testing.T, dir, summary string, detail []string, followers, noneAfter, suggestion string) {
	t.Helper()
	code, out, errs := run(t, "validate", dir, "--json")
	if code != ExitUser {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitUser, out, errs)
	}
	var res struct {
		Diagnostics []jsonDiag `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Diagnostics) == 0 {
		t.Fatalf("no diagnostics (%v):\n%s", err, out)
	}
	first := res.Diagnostics[0]
	if first.Severity != "error" || first.Summary != summary {
		t.Fatalf("first diagnostic is %s %q, want error %q; all:\n%s", first.Severity, first.Summary, summary, out)
	}
	for _, d := range append(detail, suggestion) {
		if !strings.Contains(first.Detail, d) {
			t.Errorf("first diagnostic's detail lacks %q:\n%s", d, first.Detail)
		}
	}
	if followers == "" && strings.Contains(first.Detail, "follow") {
		t.Errorf("first diagnostic folds errors in, and none were expected:\n%s", first.Detail)
	}
	if !strings.Contains(first.Detail, followers) {
		t.Errorf("first diagnostic's detail lacks %q:\n%s", followers, first.Detail)
	}
	if suggestion == "" && strings.Contains(first.Detail, "Did you mean") {
		t.Errorf("first diagnostic suggests, and no suggestion was expected:\n%s", first.Detail)
	}
	for _, d := range res.Diagnostics[1:] {
		if noneAfter != "" && strings.Contains(d.Summary, noneAfter) {
			t.Errorf("%q is still reported after the cause:\n%s", d.Summary, out)
		}
	}
}
