package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// judgesEnv names the directory of the judges (../shared/judges): the real
// mesos-init-wrapper, the Mesos flag lists, serengeti-pantry. `make
// conformance` sets it; without it the node simulation does not run.
const judgesEnv = "BUNDLE_JUDGES"

// judges returns the judges directory, failing when the variable is set but
// a judge the simulation reads is missing.
func judges(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(judgesEnv)
	if dir == "" {
		t.Skip(judgesEnv + " is not set: `make conformance` runs the node simulation with ../shared/judges")
	}
	for _, p := range []string{"mesos-deb-packaging/a245843/mesos-init-wrapper", "mesos-deb-packaging/f46d9d3/mesos-init-wrapper",
		"mesos-flags/0.21.0/slave.flags", "mesos-flags/0.22.0/master.flags", "serengeti-pantry/cookbooks/mesos/templates/default/zk.erb"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("%s=%s: a judge is missing: %v", judgesEnv, dir, err)
		}
	}
	return dir
}

// wrapperRevision is the mesos-deb-packaging revision whose wrapper the
// packages of a Mesos release carry (judges/README.md).
var wrapperRevision = map[string]string{"0.21.0": "a245843", "0.22.0": "f46d9d3", "0.22.1": "1c830a0"}

// simSite is one site the node simulation converges.
type simSite struct {
	name, text string
	mesos      string // the version of the stand-in RPMs and flag lists
}

// previousSite is a Mesos 0.21.0 / Marathon 0.7.5 site with other roles
// than the example: a master-only group with ZooKeeper and Marathon, a
// group of masters that are slaves with Chronos, Docker slaves, a
// ZooKeeper-only group, and flags of the definition's own.
func previousSite(t *testing.T) string {
	t.Helper()
	text := exampleHCL(t)
	start, end := strings.Index(text, `cluster "mesos01" {`), strings.Index(text, `app "hadoop" {`)
	if start < 0 || end < start {
		t.Fatal("the example no longer has cluster mesos01 before app hadoop")
	}
	cluster := `cluster "mesos01" {
  distro   = distro.mesos-previous
  marathon = "0.7.5"
  chronos  = "2.3.0"

  node_group "ctl" {
    roles              = ["zookeeper", "mesos_master", "mesos_marathon"]
    instances          = 1
    template           = vm_template.mesos-node
    mesos_master_flags = { offer_timeout = "30secs" }
  }

  node_group "both" {
    roles             = ["mesos_master", "mesos_slave", "mesos_chronos"]
    instances         = 3
    storage_profile   = storage_profile.vsan
    template          = vm_template.mesos-node
    attributes        = { rack = "r9", tier = "gold" }
    mesos_slave_flags = { gc_delay = "2days" }
  }

  node_group "work" {
    roles           = ["mesos_slave", "mesos_docker"]
    instances       = 10
    storage_profile = storage_profile.vmax
    template        = vm_template.mesos-node
  }

  node_group "zk" {
    roles     = ["zookeeper"]
    instances = 2
    template  = vm_template.mesos-node
  }
}

`
	return text[:start] + cluster + text[end:]
}

// convergeSteps runs the recipes for one node with the stand-in Chef DSL and
// returns the steps of its converge, the files the mesos cookbook still
// writes rendered from serengeti-pantry's templates.
func convergeSteps(t *testing.T, p *Plan, cookbook, group, pantry string) []simStep {
	t.Helper()
	return convergeAt(t, p, cookbook, group, pantry, t.TempDir()).Steps
}

// simRun is what the stand-in converge reports: its steps and every
// resource of the run with its action and notifications.
type simRun struct {
	Steps     []simStep `json:"steps"`
	Resources []struct {
		ID            string     `json:"id"`
		Action        string     `json:"action"`
		Notifications [][]string `json:"notifications"`
	} `json:"resources"`
}

// convergeAt runs the recipes for one node whose file system is root (what
// File.exist? and Dir.glob see at compile time).
func convergeAt(t *testing.T, p *Plan, cookbook, group, pantry, root string) simRun {
	t.Helper()
	ruby := needTool(t, "ruby", "ruby")
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "converge_recipes.rb")
	roles := writePlanFiles(t, p, RolesDir)
	cmd := exec.Command(ruby, script, cookbook, CookbookName(p.Name), "mesos01", group, root, roles)
	cmd.Env = append(os.Environ(), "PANTRY_TEMPLATES="+pantry)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the recipes for %s: %v\n%s", group, err, stderr.String())
	}
	var n simRun
	if err := json.Unmarshal(out, &n); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return n
}

type simStep struct {
	Op, Name, Version, Arch, Path, Cookbook string
	Content                                 *string
}

// simNode is a node's scratch root after a simulated converge.
type simNode struct {
	t      *testing.T
	root   string
	rpms   []rpmFile
	faults []string
	// bundle holds the paths the bundle's cookbook wrote.
	bundle map[string]bool
	// updated holds the packages a package step installed or changed
	// (a Chef package resource that was updated, so its notifications fire).
	updated map[string]bool
}

type rpmFile struct{ path, name, vr, arch string }

func (n *simNode) faultf(format string, args ...any) {
	n.faults = append(n.faults, fmt.Sprintf(format, args...))
}

// rpm runs the real rpm on the scratch root, its database inside it.
func (n *simNode) rpm(args ...string) (string, error) {
	out, err := exec.Command("rpm", append([]string{"--root", n.root, "--dbpath", "/var/lib/rpm"}, args...)...).CombinedOutput()
	return string(out), err
}

// centos6Dirs are directories a CentOS 6 node has before any package of
// the bundle is installed (filesystem, initscripts, upstart, cronie).
var centos6Dirs = []string{"etc/default", "etc/init", "etc/sysconfig", "etc/cron.d", "etc/rc.d/init.d", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin", "usr/local/etc", "var/log", "var/lib", "tmp"}

func newSimNode(t *testing.T, rpmDirs ...string) *simNode {
	t.Helper()
	needTool(t, "rpm", "rpm")
	n := &simNode{t: t, root: t.TempDir(), bundle: map[string]bool{}}
	for _, d := range centos6Dirs {
		if err := os.MkdirAll(filepath.Join(n.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := n.rpm("--initdb"); err != nil {
		t.Fatalf("rpm --initdb: %v\n%s", err, out)
	}
	var files []string
	for _, dir := range rpmDirs {
		m, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
		if err != nil || len(m) == 0 {
			t.Fatalf("no RPMs in %s: %v", dir, err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		out, err := exec.Command("rpm", "-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}", f).Output()
		if err != nil {
			t.Fatalf("rpm -qp %s: %v", f, err)
		}
		fs := strings.Fields(string(out))
		n.rpms = append(n.rpms, rpmFile{f, fs[0], fs[1], fs[2]})
	}
	return n
}

// install does what yum does for a package resource: with a version,
// install, upgrade or downgrade to exactly it; without one, install the
// repo's package unless one is installed. Packages the repo does not hold
// come from the OS and are not simulated.
func (n *simNode) install(name, version, arch string) {
	var pick *rpmFile
	for i, r := range n.rpms {
		if r.name == name && (version == "" || r.vr == version) && (arch == "" || r.arch == arch) {
			pick = &n.rpms[i]
		}
	}
	if pick == nil {
		if version != "" {
			n.faultf("package %s-%s.%s is not in the bundle's repo", name, version, arch)
		}
		return
	}
	installed, err := n.rpm("-q", "--qf", "%{VERSION}-%{RELEASE}.%{ARCH}", name)
	if err == nil && (version == "" || installed == pick.vr+"."+pick.arch) {
		return // yum: nothing to do, the resource is not updated
	}
	if out, err := n.rpm("-U", "--oldpackage", "--replacepkgs", "--nodeps", "--noscripts", pick.path); err != nil {
		n.faultf("rpm -U %s: %v\n%s", filepath.Base(pick.path), err, out)
		return
	}
	if n.updated == nil {
		n.updated = map[string]bool{}
	}
	n.updated[name] = true
}

// replay applies the converge's steps in order.
func (n *simNode) replay(steps []simStep) {
	for _, s := range steps {
		p := filepath.Join(n.root, filepath.FromSlash(s.Path))
		switch s.Op {
		case "package":
			n.install(s.Name, s.Version, s.Arch)
		case "mkdir":
			if err := os.MkdirAll(p, 0o755); err != nil {
				n.t.Fatal(err)
			}
		case "delete":
			os.Remove(p)
		case "write":
			if s.Content == nil {
				n.faultf("%s: the mesos cookbook's template was not rendered", s.Path)
				continue
			}
			// Chef 11's file providers do not create parent directories.
			if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
				n.faultf("Chef fails writing %s: parent directory does not exist", s.Path)
				continue
			}
			if err := os.WriteFile(p, []byte(*s.Content), 0o644); err != nil {
				n.t.Fatal(err)
			}
			n.bundle[s.Path] = s.Cookbook != "mesos"
		}
	}
}

// leftovers reports files rpm kept aside: a configuration file the bundle
// wrote that a package install then shadowed.
func (n *simNode) leftovers() {
	filepath.WalkDir(filepath.Join(n.root, "etc"), func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && regexp.MustCompile(`\.rpm(new|save|orig)$`).MatchString(p) {
			n.faultf("rpm left %s: a file the bundle wrote is shadowed by a package installed later", strings.TrimPrefix(p, n.root))
		}
		return nil
	})
}

// execPath returns the program an upstart job execs and its arguments.
func execPath(job string) (string, []string) {
	for _, l := range strings.Split(job, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "exec" {
			return f[1], f[2:]
		}
	}
	return "", nil
}

// checkInitJobs checks that every upstart job on the node execs a program
// that is installed.
func (n *simNode) checkInitJobs() map[string]string {
	jobs := map[string]string{}
	m, _ := filepath.Glob(filepath.Join(n.root, "etc/init/*.conf"))
	for _, f := range m {
		b, err := os.ReadFile(f)
		if err != nil {
			n.t.Fatal(err)
		}
		prog, _ := execPath(string(b))
		jobs[filepath.Base(f)] = prog
		fi, err := os.Stat(filepath.Join(n.root, prog))
		if prog == "" || err != nil || fi.Mode()&0o111 == 0 {
			n.faultf("/etc/init/%s execs %q, which is not an installed program", filepath.Base(f), prog)
		}
	}
	return jobs
}

var rootPathRE = regexp.MustCompile(`(^|[\s"'=(])(/etc/|/usr/)`)

// runWrapper runs the real mesos-init-wrapper for daemon on the node with
// its paths redirected into the scratch root (no other change to it), the
// backquoted `cat` of the /etc/default files too, and the daemon replaced
// by a program that records its command line.
func (n *simNode) runWrapper(wrapperSrc, daemon, program string) []string {
	src, err := os.ReadFile(wrapperSrc)
	if err != nil {
		n.t.Fatal(err)
	}
	dir := n.t.TempDir()
	wrapper := filepath.Join(dir, "mesos-init-wrapper")
	if err := os.WriteFile(wrapper, rootPathRE.ReplaceAll(src, []byte("${1}"+n.root+"${2}")), 0o755); err != nil {
		n.t.Fatal(err)
	}
	prelude := filepath.Join(dir, "prelude.sh")
	if err := os.WriteFile(prelude, []byte(`cat() { local a=() x; for x in "$@"; do case $x in "$SIM_ROOT"/*) ;; /*) x=$SIM_ROOT$x ;; esac; a+=("$x"); done; command cat "${a[@]}"; }
`), 0o644); err != nil {
		n.t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "logger"), []byte("#!/bin/sh\nexec cat >/dev/null\n"), 0o755); err != nil {
		n.t.Fatal(err)
	}
	daemonPath := filepath.Join(n.root, program)
	fi, err := os.Stat(daemonPath)
	if err != nil || fi.Mode()&0o111 == 0 {
		n.faultf("mesos-init-wrapper execs %s, which is not an installed program", program)
		return nil
	}
	argvFile := filepath.Join(dir, "argv")
	if err := os.WriteFile(daemonPath, []byte("#!/bin/bash\nprintf '%s\\0' \"$@\" > \"$SIM_ARGV\"\n"), 0o755); err != nil {
		n.t.Fatal(err)
	}
	cmd := exec.Command("bash", wrapper, daemon)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin:/usr/sbin:/sbin", "BASH_ENV=" + prelude, "SIM_ROOT=" + n.root, "SIM_ARGV=" + argvFile, "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	if err != nil {
		n.faultf("mesos-init-wrapper %s: %v\n%s", daemon, err, out)
		return nil
	}
	b, err := os.ReadFile(argvFile)
	if err != nil {
		n.faultf("mesos-init-wrapper %s did not start %s: %v\n%s", daemon, program, err, out)
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// readFlagList reads a judges flag list: "name type" per line.
func readFlagList(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("%s: bad line %q", path, l)
		}
		out[f[0]] = f[1]
	}
	return out
}

// stout judges a command line as Mesos' flag parser (stout FlagsBase::load)
// does: every argument is --name=value, --name or --no-name (booleans), the
// name is a flag the daemon has, the value parses as its type, and no flag
// comes twice. It returns the flags' values and why the daemon would exit.
func stout(argv []string, flags map[string]string) (map[string]string, []string) {
	vals := map[string]string{}
	var errs []string
	for _, a := range argv {
		rest, ok := strings.CutPrefix(a, "--")
		if !ok {
			errs = append(errs, fmt.Sprintf("not a flag: %q", a))
			continue
		}
		name, value, hasValue := strings.Cut(rest, "=")
		if !hasValue {
			value = "true"
			if n, neg := strings.CutPrefix(name, "no-"); neg && flags[name] == "" {
				name, value = n, "false"
			}
		}
		typ, known := flags[name]
		switch {
		case !known:
			errs = append(errs, fmt.Sprintf("Failed to load unknown flag '%s'", name))
			continue
		case !hasValue && typ != "bool":
			errs = append(errs, fmt.Sprintf("Failed to load non-boolean flag '%s' without a value", name))
			continue
		case !flagValueOK(typ, value):
			errs = append(errs, fmt.Sprintf("Failed to load flag '%s': cannot parse %q as %s", name, value, typ))
		}
		if _, dup := vals[name]; dup {
			errs = append(errs, fmt.Sprintf("Duplicate flag '%s' on command line", name))
		}
		vals[name] = value
	}
	return vals, errs
}

// wrapperVarsRead returns, from the real wrapper's text, the variables
// each daemon's function reads (${NAME:-}).
func wrapperVarsRead(t *testing.T, src string) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, d := range MesosDaemons {
		i := strings.Index(src, "function "+d+" {")
		if i < 0 {
			t.Fatalf("the wrapper has no function %s", d)
		}
		body := src[i:]
		if j := strings.Index(body, "\n}\n"); j > 0 {
			body = body[:j]
		}
		out[d] = map[string]bool{}
		for _, m := range regexp.MustCompile(`\$\{([A-Z_]+):-\}`).FindAllStringSubmatch(body, -1) {
			out[d][m[1]] = true
		}
	}
	return out
}
