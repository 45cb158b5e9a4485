package rpmfixture

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/google/rpmpack"
)

// Epoch is the time every fixture carries (2015-03-11), as the example
// site does.
var Epoch = time.Unix(1426032000, 0)

// scratch is a per-process directory for fixtures built once and shared by
// several tests (RPMs are read-only inputs): made by the first Scratch,
// removed by Main.
var (
	scratchOnce sync.Once
	scratch     string
	scratchErr  error
	inMain      bool
)

// Main runs a test package's tests and removes the scratch directory of
// the shared fixtures afterwards: call os.Exit(rpmfixture.Main(m)) from
// TestMain.
func Main(m *testing.M) int {
	flag.Parse()
	inMain = true
	code := m.Run()
	if scratch != "" {
		os.RemoveAll(scratch)
	}
	return code
}

// Scratch is the scratch directory of the test process; the test fails
// when TestMain does not call Main (nobody would remove it).
func Scratch(t testing.TB) string {
	t.Helper()
	if !inMain {
		t.Fatal("rpmfixture: TestMain must call rpmfixture.Main")
	}
	scratchOnce.Do(func() { scratch, scratchErr = os.MkdirTemp("", "rpm-fixtures-") })
	if scratchErr != nil {
		t.Fatal(scratchErr)
	}
	return scratch
}

// RepoRoot walks up from the package directory to go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// ConformanceEnv names the directory holding createrepo_c's test packages
// (createrepo_c-packages/); `make conformance` sets it to ../shared/testdata.
const ConformanceEnv = "BUNDLE_CONFORMANCE_DATA"

// Corpus returns the RPMs nobody here made that the tests index: real
// distro packages from other projects' test data (fetched through the Go
// module proxy), and, when ConformanceEnv is set, createrepo_c's 12 test
// packages as well.
func Corpus(t testing.TB) []string {
	t.Helper()
	out := OutsideRPMs(t)
	if d := os.Getenv(ConformanceEnv); d != "" {
		out = append(out, CreaterepoRPMs(t, d)...)
	}
	return out
}

// CreaterepoRPMs returns createrepo_c's test-suite RPMs under dir.
func CreaterepoRPMs(t testing.TB, dir string) []string {
	t.Helper()
	dir = filepath.Join(dir, "createrepo_c-packages")
	m, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil || len(m) != 12 {
		t.Fatalf("%s: want the 12 createrepo_c test RPMs in %s, found %d (%v)", ConformanceEnv, dir, len(m), err)
	}
	sort.Strings(m)
	return m
}

func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (installed by .ci/run): %v", tool, err)
		}
	}
}

func Run(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// CopyFiles copies files into dir and sets every mtime to mtime.
func CopyFiles(t testing.TB, dir string, files []string, mtime time.Time) {
	t.Helper()
	for _, dst := range testutil.CopyFiles(t, dir, files...) {
		if err := os.Chtimes(dst, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// --- fixture RPMs built with rpmbuild -------------------------------------

var (
	specOnce sync.Once
	specRPMs []string
	specErr  error
)

func changelogEntries() string {
	var b strings.Builder
	// newest first, as rpm requires; 12 entries so the limit of 10 bites,
	// and two pairs with the same date.
	days := []string{
		"Mon Mar 02 2015", "Sun Mar 01 2015", "Sun Mar 01 2015", "Sat Feb 28 2015",
		"Fri Feb 27 2015", "Thu Feb 26 2015", "Thu Feb 26 2015", "Wed Feb 25 2015",
		"Tue Feb 24 2015", "Mon Feb 23 2015", "Sun Feb 22 2015", "Sat Feb 21 2015",
	}
	for i, d := range days {
		fmt.Fprintf(&b, "* %s Zoë Packager <zoe@example.com> - 1.2.3-%d\n- change %d: <fixed> & \"improved\" 'quoting'\n- second line\n\n", d, 12-i, 12-i)
	}
	return b.String()
}

var specs = map[string]string{
	"base-shell": `Name: base-shell
Version: 5.0
Release: 1
Summary: A tiny shell provider
License: MIT
AutoReqProv: no
%define _binary_payload w9.gzdio
Provides: bash = 5.0
%description
Provides /bin/sh for the test repository.
%install
mkdir -p %{buildroot}/bin %{buildroot}/usr/bin
printf 'sh\n' > %{buildroot}/bin/sh
printf 'bash\n' > %{buildroot}/usr/bin/bash
%files
/bin/sh
/usr/bin/bash
`,
	"coreutils-lite": `Name: coreutils-lite
Version: 1.0
Release: 1
Summary: Core utilities, lite
License: MIT
AutoReqProv: no
%define _binary_payload w6.xzdio
Provides: coreutils
Provides: config(coreutils-lite) = 1.0-1
Requires: config(coreutils-lite) = 1.0-1
Requires: /usr/bin/true
%description
Lite core utilities.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc
printf 'true\n' > %{buildroot}/usr/bin/true
printf 'x\n' > %{buildroot}/etc/coreutils.conf
%files
/usr/bin/true
%config /etc/coreutils.conf
`,
	"alpha-tools": `Name: alpha-tools
Version: 1.2.3
Release: 4
Summary: Alpha <tools> & "friends" 'quoted'
License: MIT & BSD
URL: https://example.com/alpha?a=1&b=2
Packager: Zoë <zoe@example.com>
Vendor: Ünïcode & Co
Group: Development/<Tools>
BuildArch: noarch
AutoReqProv: no
%define _binary_payload w19.zstdio
Provides: alpha-api = 2.0
Provides: alpha-tools-compat(x86-64) >= 1:1.0
Requires: bash >= 4.0
Requires: /bin/sh
Requires: /usr/bin/alpha
Requires(pre): base-shell
Requires(post): coreutils
Requires(preun): coreutils >= 1.0
Requires: coreutils
Requires: coreutils
Conflicts: alpha-old < 1.0
Conflicts: alpha-evil > 0:2.0-1
Obsoletes: alpha-legacy <= 1.2
Recommends: alpha-docs
Suggests: alpha-extras > 1
Supplements: beta-data
Enhances: base-shell >= 5
%description
Příliš žluťoučký kůň úpěl ďábelské ódy ☃.
Markup: <b>bold</b> & "quotes" and 'apostrophes'; tab:	end.
%install
mkdir -p %{buildroot}/etc/alpha %{buildroot}/usr/bin %{buildroot}/var/lib/alpha %{buildroot}/usr/share/alpha
printf 'conf\n' > %{buildroot}/etc/alpha/alpha.conf
printf '#!/bin/sh\n' > %{buildroot}/usr/bin/alpha
ln -s alpha %{buildroot}/usr/bin/alpha-link
printf 'x\n' > "%{buildroot}/usr/share/alpha/naïve & <odd> 'name'.txt"
%post
true
%files
%dir /etc/alpha
%config(noreplace) /etc/alpha/alpha.conf
/usr/bin/alpha
/usr/bin/alpha-link
%dir /var/lib/alpha
%ghost /var/lib/alpha/state.db
/usr/share/alpha
%changelog
` + changelogEntries(),
	"alpha-docs": `Name: alpha-docs
Version: 1.2.3
Release: 4
Summary: Alpha documentation
License: MIT
BuildArch: noarch
AutoReqProv: no
%define _binary_payload w9.gzdio
%description
Docs.
%install
mkdir -p %{buildroot}/usr/share/doc/alpha
printf 'doc\n' > %{buildroot}/usr/share/doc/alpha/README
%files
/usr/share/doc/alpha
`,
	"beta-data": `Name: beta-data
Epoch: 2
Version: 5.0
Release: 1
Summary: Beta data
License: GPLv2+
AutoReqProv: no
%define _binary_payload w6.xzdio
Requires: alpha-api >= 2.0
Requires: alpha-tools = 0:1.2.3-4
Requires: (base-shell >= 5.0 or coreutils)
%description
Many files.
%install
for d in $(seq 1 5); do mkdir -p %{buildroot}/usr/share/beta/dir$d; for f in $(seq 1 6); do printf "$d $f\n" > %{buildroot}/usr/share/beta/dir$d/file$f; done; done
ln -s dir1 %{buildroot}/usr/share/beta/current
%files
/usr/share/beta
`,
	"gamma-app": `Name: gamma-app
Version: 0.1
Release: 1~beta^post
Summary: Gamma application
License: ASL 2.0
BuildArch: noarch
AutoReqProv: no
%define _binary_payload w19.zstdio
Requires: alpha-tools >= 1.2
Requires: alpha-api
Requires: beta-data = 2:5.0-1
Requires: beta-data >= 2:5
Requires: /usr/bin/alpha
%description
The application.
%install
mkdir -p %{buildroot}/usr/sbin
printf 'g\n' > %{buildroot}/usr/sbin/gamma
%files
/usr/sbin/gamma
`,
}

// SpecFixtures builds the spec files above once per test process.
func SpecFixtures(t testing.TB) []string {
	t.Helper()
	NeedTools(t, "rpmbuild")
	specOnce.Do(func() {
		top := filepath.Join(Scratch(t), "rpmbuild")
		for _, d := range []string{"SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT", "SOURCES"} {
			if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
				specErr = err
				return
			}
		}
		names := make([]string, 0, len(specs))
		for n := range specs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			sp := filepath.Join(top, "SPECS", n+".spec")
			if err := os.WriteFile(sp, []byte(specs[n]), 0o644); err != nil {
				specErr = err
				return
			}
			cmd := exec.Command("rpmbuild", "--define", "_topdir "+top, "--define", "_build_id_links none",
				"--define", "__os_install_post %{nil}", "--define", "_buildhost build.example.com",
				"--define", "source_date_epoch_from_changelog 0", "--quiet", "-bb", sp)
			cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1426032000", "LC_ALL=C.UTF-8")
			if out, err := cmd.CombinedOutput(); err != nil {
				specErr = fmt.Errorf("rpmbuild %s: %v\n%s", n, err, out)
				return
			}
		}
		m, err := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
		if err != nil {
			specErr = err
			return
		}
		sort.Strings(m)
		specRPMs = m
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	if len(specRPMs) != len(specs) {
		t.Fatalf("built %d RPMs, want %d", len(specRPMs), len(specs))
	}
	return specRPMs
}

// PackRPM writes an RPM built with rpmpack into dir and returns its path.
func PackRPM(t testing.TB, dir string, md rpmpack.RPMMetaData, files map[string][]byte) string {
	t.Helper()
	if md.Version == "" {
		md.Version = "1.0"
	}
	if md.Release == "" {
		md.Release = "1"
	}
	if md.Arch == "" {
		md.Arch = "x86_64"
	}
	if md.OS == "" {
		md.OS = "linux"
	}
	if md.BuildTime.IsZero() {
		md.BuildTime = time.Unix(1426032000, 0)
	}
	r, err := rpmpack.NewRPM(md)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r.AddFile(rpmpack.RPMFile{Name: n, Body: files[n], Mode: 0o100644, Owner: "root", Group: "root", MTime: 1426032000})
	}
	p := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.%s.rpm", md.Name, md.Version, md.Release, md.Arch))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}
