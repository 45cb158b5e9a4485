package testutil

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Edits that turn the example site into the tests' plain site: no container
// image and no VM template (so a build needs neither a registry source nor a
// VMDK), nginx run by cmd.
var plainSiteEdits = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?m)^[ \t]+template[ \t]+= vm_template\.[\w-]+\n`), ""},
	{regexp.MustCompile(`(?m)^([ \t]+)image([ \t]+)= image\.nginx$`), `${1}cmd${2}  = "nginx -g 'daemon off;'"`},
	{regexp.MustCompile(`(?ms)^[ \t]+health_check \{\n.*?^[ \t]+\}\n`), ""},
	{regexp.MustCompile(`(?ms)^image "[\w-]+" \{\n.*?^\}\n\n?`), ""},
	{regexp.MustCompile(`(?ms)^vm_template "[\w-]+" \{\n.*?^\}\n\n?`), ""},
	{regexp.MustCompile(`(?m)^[ \t]+registry[ \t]+= .*\n`), ""},
	{regexp.MustCompile(`(?ms)^upgrade \{\n.*?^\}\n\n?`), ""},
}

// PlainSite returns the definition text of examples/mesos-site without its
// image, VM template, site registry and upgrade block (no site manifest): the site the out and CLI tests build
// with stand-in RPMs only. It is derived from the example, so the two never
// drift apart; each edit must apply.
func PlainSite(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ModuleRoot(t), "examples", "mesos-site", "site.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, e := range plainSiteEdits {
		if !e.re.MatchString(s) {
			t.Fatalf("examples/mesos-site/site.hcl: the plain site's edit %q no longer applies", e.re)
		}
		s = e.re.ReplaceAllString(s, e.repl)
	}
	for _, gone := range []string{"vm_template", "image.", "registry"} {
		if strings.Contains(s, gone) {
			t.Fatalf("examples/mesos-site/site.hcl: the plain site still mentions %q", gone)
		}
	}
	return s
}

// CopyExampleSiteManifest copies the site's manifest the example's upgrade
// block names (examples/mesos-site/site/manifest) into dir/site, so a copy
// of the example's site.hcl in dir loads as the example does.
func CopyExampleSiteManifest(t testing.TB, dir string) {
	t.Helper()
	CopyFiles(t, filepath.Join(dir, "site"), filepath.Join(ModuleRoot(t), "examples", "mesos-site", "site", "manifest"))
}
