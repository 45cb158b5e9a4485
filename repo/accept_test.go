package repo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
	"github.com/bdebundle/bundle/repo/rpm"
	"github.com/pmezard/go-difflib/difflib"
)

// dnfClient runs dnf against one repository with its own configuration and
// metadata cache (toolchain recipe: skip_if_unavailable=False,
// reposdir=/dev/null, a fresh cachedir, --releasever).
type dnfClient struct {
	conf, cache, logs, repo string
}

func newDNF(t *testing.T, repoDir string) *dnfClient {
	t.Helper()
	d := t.TempDir()
	conf := filepath.Join(d, "dnf.conf")
	if err := os.WriteFile(conf, []byte("[main]\ngpgcheck=False\nskip_if_unavailable=False\ninstall_weak_deps=True\nreposdir=/dev/null\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &dnfClient{conf: conf, cache: filepath.Join(d, "cache"), logs: filepath.Join(d, "log"), repo: repoDir}
}

func (c *dnfClient) run(args ...string) (string, error) {
	base := []string{"-c", c.conf, "-q", "-y", "--releasever=9", "--setopt=cachedir=" + c.cache,
		"--setopt=logdir=" + c.logs, "--repofrompath=bundle,file://" + c.repo, "--repo=bundle"}
	cmd := exec.Command("dnf", append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("dnf %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func textDiff(a, b string) string {
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b), FromFile: "createrepo_c", ToFile: "bundle", Context: 2,
	})
	return d
}

const repoQueryFormat = "%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{summary}|%{url}|%{license}|%{sourcerpm}|" +
	"%{buildtime}|%{size}|%{installsize}|%{downloadsize}\n%{description}\nP: %{provides}\nR: %{requires}\nC: %{conflicts}\nO: %{obsoletes}\n"

// repoQueries are the dnf invocations whose output must not depend on who
// wrote the repodata.
var repoQueries = [][]string{
	{"repoquery", "--available", "--queryformat", repoQueryFormat},
	{"repoquery", "--available", "--recommends"},
	{"repoquery", "--available", "--suggests"},
	{"repoquery", "--available", "--supplements"},
	{"repoquery", "--available", "--enhances"},
	{"repoquery", "--available", "-l"},
	{"repoquery", "--available", "--changelog"},
	{"repoquery", "--available", "--whatprovides", "/bin/sh"},
	{"repoquery", "--requires", "--resolve", "gamma-app"},
}

// TestAcceptanceAgainstCreaterepoC indexes the same RPMs with createrepo_c
// and with Index, and checks that the uncompressed metadata is identical and
// that dnf sees the same repository through both.
func TestAcceptanceAgainstCreaterepoC(t *testing.T) {
	rpmfixture.NeedTools(t, "createrepo_c", "dnf", "rpmbuild", "rpm")
	rpms := append(append(rpmfixture.SpecFixtures(t), rpmfixture.Corpus(t)...), rpmfixture.BuildSRPM(t, t.TempDir()))
	epoch := time.Unix(1426032000, 0)
	root := t.TempDir()
	crDir, ourDir := filepath.Join(root, "createrepo_c"), filepath.Join(root, "bundle")
	rpmfixture.CopyFiles(t, crDir, rpms, epoch)
	rpmfixture.CopyFiles(t, ourDir, rpms, epoch)
	rpmfixture.Run(t, root, "createrepo_c", "--no-database", "--workers", "2", crDir)
	indexDir(t, ourDir, IndexOptions{Epoch: epoch.Unix()})

	// 1. The XML itself: createrepo_c's <time file> is the file mtime,
	// which was set to the epoch, so the documents must match byte for byte.
	cr, ours := readRepodataFiles(t, crDir), readRepodataFiles(t, ourDir)
	for _, typ := range []string{"primary", "filelists", "other"} {
		if !bytes.Equal(cr[typ], ours[typ]) {
			t.Errorf("%s.xml differs from createrepo_c's:\n%s", typ, textDiff(string(cr[typ]), string(ours[typ])))
		}
	}
	if !strings.Contains(string(ours["primary"]), `<rpm:entry name="coreutils" pre="1"/>`) {
		t.Error("Requires(post) is not marked pre=\"1\"")
	}
	if strings.Contains(string(ours["primary"]), "rpmlib(") {
		t.Error("rpmlib() requirements were not dropped")
	}

	// 2. dnf reads both the same way.
	crDNF, ourDNF := newDNF(t, crDir), newDNF(t, ourDir)
	type result struct {
		out string
		err error
	}
	res := make([][2]result, len(repoQueries))
	var wg sync.WaitGroup
	for side, c := range []*dnfClient{crDNF, ourDNF} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, q := range repoQueries {
				out, err := c.run(q...)
				res[i][side] = result{out, err}
			}
		}()
	}
	wg.Wait()
	for i, q := range repoQueries {
		cr, ours := res[i][0], res[i][1]
		if cr.err != nil || ours.err != nil {
			t.Errorf("dnf %s: createrepo_c repo: %v; bundle repo: %v", strings.Join(q, " "), cr.err, ours.err)
			continue
		}
		if cr.out != ours.out {
			t.Errorf("dnf %s differs:\n%s", strings.Join(q, " "), textDiff(cr.out, ours.out))
		}
		if strings.TrimSpace(ours.out) == "" {
			t.Errorf("dnf %s printed nothing", strings.Join(q, " "))
		}
	}
	// Spot checks that the fixtures exercise what they should.
	all := res[0][1].out
	for _, want := range []string{
		"beta-data|2|5.0|1|x86_64", "gamma-app|0|0.1|1~beta^post|noarch",
		"Alpha <tools> & \"friends\" 'quoted'", "Příliš žluťoučký kůň",
		"(base-shell >= 5.0 or coreutils)", "alpha-old < 1.0",
		// real CentOS 2.1-7 and EPEL 7 packages, i386/i686/noarch, and a
		// source package
		"centos-release|10|5|0.0.el5.centos.2|i386", "centos-release|0|6|0.el6.centos.5|i686",
		"centos-release|1|3.1|1|i386", "centos-release-as|0|2.1AS|4|noarch", "epel-release|0|7|5|noarch",
		"srcpkg|0|2.0|3|src",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("dnf repoquery output lacks %q", want)
		}
	}
	if os.Getenv(rpmfixture.ConformanceEnv) != "" && !strings.Contains(all, "Balíček s") {
		t.Error("dnf repoquery output lacks createrepo_c's Czech package text")
	}
	if !strings.Contains(res[6][1].out, "change 3:") || strings.Contains(res[6][1].out, "change 2:") {
		t.Errorf("changelog should keep the 10 newest entries (3..12):\n%s", res[6][1].out)
	}

	// 3. repoclosure agrees between the two, and with Unresolved.
	crClosure, crErr := crDNF.run("repoclosure", "--check", "bundle")
	ourClosure, ourErr := ourDNF.run("repoclosure", "--check", "bundle")
	if crClosure != ourClosure || (crErr == nil) != (ourErr == nil) {
		t.Errorf("repoclosure differs:\n%s\ncreaterepo_c err %v, bundle err %v", textDiff(crClosure, ourClosure), crErr, ourErr)
	}
	pkgs, err := ReadRepodata(context.Background(), ourDir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range rpmdep.Unresolved(rpm.DepPackages(pkgs), nil) {
		got[p.Package+" "+p.Requirement] = true
	}
	want := parseRepoclosure(ourClosure)
	if len(want) == 0 {
		t.Fatal("repoclosure reported nothing; the createrepo_c fixtures have unresolved requirements")
	}
	if fmt.Sprint(keys(got)) != fmt.Sprint(keys(want)) {
		t.Errorf("Unresolved disagrees with dnf repoclosure:\nours: %v\ndnf:  %v", keys(got), keys(want))
	}

	// 4. An installroot install resolves the same transaction.
	var installed [2]string
	for side, c := range []*dnfClient{crDNF, ourDNF} {
		ir := filepath.Join(t.TempDir(), "root")
		if _, err := c.run("--installroot="+ir, "--setopt=tsflags=noscripts", "install", "gamma-app"); err != nil {
			t.Fatal(err)
		}
		installed[side] = rpmfixture.Run(t, root, "rpm", "--root", ir, "-qa", "--qf", "%{NEVRA}\n")
		lines := strings.Fields(installed[side])
		sort.Strings(lines)
		installed[side] = strings.Join(lines, "\n")
	}
	if installed[0] != installed[1] {
		t.Errorf("install transactions differ:\n%s", textDiff(installed[0], installed[1]))
	}
	for _, want := range []string{"gamma-app-0.1-1~beta^post.noarch", "beta-data-2:5.0-1.x86_64", "alpha-tools-1.2.3-4.noarch", "alpha-docs-1.2.3-4.noarch", "base-shell-5.0-1.x86_64", "coreutils-lite-1.0-1.x86_64"} {
		if !strings.Contains(installed[1], want) {
			t.Errorf("install did not bring in %s:\n%s", want, installed[1])
		}
	}
}

var closurePkg = regexp.MustCompile(`^package: (\S+) from`)

// parseRepoclosure turns dnf repoclosure output into "NEVRA requirement"
// keys, with the NEVRA's 0: epoch dropped as Package.NEVRA does.
func parseRepoclosure(out string) map[string]bool {
	res := map[string]bool{}
	var pkg string
	for _, line := range strings.Split(out, "\n") {
		if m := closurePkg.FindStringSubmatch(line); m != nil {
			pkg = strings.Replace(m[1], "-0:", "-", 1)
			continue
		}
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "unresolved deps") || pkg == "" {
			continue
		}
		res[pkg+" "+l] = true
	}
	return res
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
