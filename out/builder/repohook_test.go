package builder

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/inspect"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/verify"
)

// createrepoHook writes repodata with createrepo_c and reads NEVRAs with
// rpm, as a RepoWriter built on the reference tools.
type createrepoHook struct{}

func (createrepoHook) WriteRepo(ctx context.Context, dir string, rp *compiler.RepoPlan) (*RepoInfo, error) {
	if out, err := exec.CommandContext(ctx, "createrepo_c", "--quiet", "--no-database", "--revision", "1", "--set-timestamp-to-revision", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("createrepo_c: %v: %s", err, out)
	}
	info := &RepoInfo{RepoFile: []byte(fmt.Sprintf("[%s]\nname=%s\nbaseurl=%s\nenabled=1\ngpgcheck=0\n", rp.Name, rp.Name, rp.BaseURL))}
	for _, in := range rp.Packages {
		base := filepath.Base(in.Dest)
		out, err := exec.CommandContext(ctx, "rpm", "-qp", "--nosignature", "--qf", "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}", filepath.Join(dir, base)).Output()
		if err != nil {
			return nil, fmt.Errorf("rpm -qp %s: %w", base, err)
		}
		info.Packages = append(info.Packages, PackageInfo{NEVRA: strings.Replace(string(out), "-0:", "-", 1), Location: base})
	}
	return info, nil
}

func TestRepoWriterHook(t *testing.T) {
	for _, tool := range []string{"createrepo_c", "rpm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	opts := testOptions(t)
	opts.Repos = createrepoHook{}
	res, err := checkBuild(context.Background(), plan, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, res.Dir, verify.Options{Repodata: func(ctx context.Context, dir string) error {
		_, err := os.Stat(filepath.Join(dir, "repodata", "repomd.xml"))
		return err
	}})
	if len(rep.DeepRun) != 1 {
		t.Errorf("deep checks: %v", rep.DeepRun)
	}
	in, err := inspect.Bundle(context.Background(), res.Archive)
	if err != nil {
		t.Fatal(err)
	}
	r := in.Manifest.Repos[0]
	if r.RepoFile != "serengeti/www/yum/mesos.repo" || r.Packages[4].NEVRA != "mesos-0.22.0-1.0.centos65.x86_64" {
		t.Fatalf("repo entry: %+v", r)
	}
	var repodata int
	for _, f := range in.Manifest.Files {
		if strings.Contains(f.Path, "/repodata/") {
			repodata++
		}
	}
	if repodata < 4 {
		t.Fatalf("repodata files in bundle.json: %d", repodata)
	}
	// dnf reads the bundled repository.
	repoDir := filepath.Join(res.Dir, r.Dir)
	conf := filepath.Join(t.TempDir(), "dnf.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[main]\nreposdir=/dev/null\ncachedir=%s\n[b]\nname=b\nbaseurl=file://%s\ngpgcheck=0\n", t.TempDir(), repoDir)), 0o644)
	cmd := exec.Command("dnf", "-q", "--releasever=7", "-c", conf, "--disablerepo=*", "--enablerepo=b", "repoquery", "--qf", "%{name}-%{version}-%{release}.%{arch}\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dnf repoquery: %v\n%s", err, out)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			got = append(got, l)
		}
	}
	if len(got) != len(r.Packages) {
		t.Fatalf("dnf sees %v, bundle.json lists %d packages", got, len(r.Packages))
	}
}
