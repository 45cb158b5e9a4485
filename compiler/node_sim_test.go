package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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

// simulateGroup converges one node of a group on a scratch root and judges
// it; it returns the faults found. mutate, when set, changes the steps
// before they are replayed (to show what the judges catch).
func simulateGroup(t *testing.T, judgesDir string, site simSite, p *Plan, group string, mutate func([]simStep) []simStep) []string {
	t.Helper()
	cb := writePlanFiles(t, p, cookbookPrefix(p))
	steps := convergeSteps(t, p, cb, group, filepath.Join(judgesDir, "serengeti-pantry/cookbooks/mesos/templates/default"))
	if mutate != nil {
		steps = mutate(steps)
	}
	n := newSimNode(t, filepath.Join(inputsDir, "rpms", "mesos-"+site.mesos))
	n.replay(steps)
	return judgeNode(t, judgesDir, site, p, group, n)
}

// judgeNode judges a converged node of group: nothing shadowed, every init
// job's program installed, the real wrapper's command line for each daemon
// accepted by stout's rules for site.mesos and carrying the definition's
// quorum, ZooKeeper URL and attributes. It returns the faults found.
func judgeNode(t *testing.T, judgesDir string, site simSite, p *Plan, group string, n *simNode) []string {
	t.Helper()
	n.leftovers()
	jobs := n.checkInitJobs()

	var g *NodeGroupPlan
	var cp *ClusterPlan
	for _, c := range p.Clusters {
		for _, x := range c.NodeGroups {
			if x.Name == group {
				g, cp = x, c
			}
		}
	}
	if g == nil {
		t.Fatalf("no group %s", group)
	}
	masters := 0
	for _, x := range cp.NodeGroups {
		if slices.Contains(x.Roles, "mesos_master") {
			masters += x.Instances
		}
	}
	wrapperSrc := filepath.Join(judgesDir, "mesos-deb-packaging", wrapperRevision[site.mesos], "mesos-init-wrapper")
	wsrc, err := os.ReadFile(wrapperSrc)
	if err != nil {
		t.Fatal(err)
	}
	reads := wrapperVarsRead(t, string(wsrc))
	for _, d := range MesosDaemons {
		if !slices.Contains(g.Roles, "mesos_"+d) {
			continue
		}
		job := "mesos-" + d + ".conf"
		b, _ := os.ReadFile(filepath.Join(n.root, "etc/init", job))
		prog, args := execPath(string(b))
		if !strings.HasSuffix(prog, "/mesos-init-wrapper") || !slices.Equal(args, []string{d}) || !strings.Contains(string(b), "start on runlevel") {
			n.faultf("/etc/init/%s does not start mesos-init-wrapper %s:\n%s", job, d, b)
			continue
		}
		// The daemon the real wrapper of this revision execs.
		m := regexp.MustCompile(`logged (/\S+/mesos-` + d + `) `).FindStringSubmatch(string(wsrc))
		if m == nil {
			t.Fatalf("%s: no logged .../mesos-%s", wrapperSrc, d)
		}
		argv := n.runWrapper(wrapperSrc, d, m[1])
		if argv == nil {
			continue
		}
		flags := readFlagList(t, filepath.Join(judgesDir, "mesos-flags", site.mesos, d+".flags"))
		vals, errs := stout(argv, flags)
		for _, e := range errs {
			n.faultf("mesos-%s exits: %s (command line %q)", d, e, argv)
		}
		zk, _ := os.ReadFile(filepath.Join(n.root, "etc/mesos/zk"))
		want := map[string]string{"log_dir": mesosLogs, "logging_level": mesosLoggingLevel}
		if d == "master" {
			want["quorum"] = strconv.Itoa(masters/2 + 1)
			want["zk"] = strings.TrimSpace(string(zk))
			want["cluster"] = cp.Name
			want["work_dir"] = mesosMasterWorkDir
		} else {
			want["master"] = strings.TrimSpace(string(zk))
			want["isolation"] = mesosIsolation
			if slices.Contains(g.Roles, "mesos_docker") {
				want["isolation"] = dockerIsolation
				want["containerizers"] = "docker,mesos"
			}
			var attrs []string
			for k, v := range g.Attributes {
				attrs = append(attrs, k+":"+v)
			}
			if g.StorageProfile != "" {
				attrs = append(attrs, "storage_profile:"+g.StorageProfile)
			}
			slices.Sort(attrs)
			got := strings.Split(vals["attributes"], ";")
			slices.Sort(got)
			if !slices.Equal(got, attrs) {
				n.faultf("mesos-slave --attributes=%q, the definition says %q", vals["attributes"], attrs)
			}
		}
		for k, v := range want {
			if vals[k] != v {
				n.faultf("mesos-%s --%s=%q, want %q", d, k, vals[k], v)
			}
		}
		if !strings.HasPrefix(vals["zk"]+vals["master"], "zk://") {
			n.faultf("mesos-%s gets no zk:// URL: %q", d, argv)
		}
	}
	// Every variable of the /etc/default files the bundle writes is read
	// by the wrapper for a daemon the node runs.
	for _, f := range []string{"mesos", "mesos-master", "mesos-slave"} {
		b, err := os.ReadFile(filepath.Join(n.root, "etc/default", f))
		if err != nil || !n.bundle["/etc/default/"+f] {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			name, _, ok := strings.Cut(strings.TrimSpace(l), "=")
			if !ok {
				continue
			}
			read := false
			for _, d := range MesosDaemons {
				if slices.Contains(g.Roles, "mesos_"+d) && (f == "mesos" || f == "mesos-"+d) {
					read = read || reads[d][name]
				}
			}
			if !read {
				n.faultf("/etc/default/%s sets %s, which mesos-init-wrapper never reads on this node", f, name)
			}
		}
	}
	if isMesos := slices.ContainsFunc(g.Roles, func(r string) bool { return r == "mesos_master" || r == "mesos_slave" }); isMesos {
		for _, r := range []struct{ role, job string }{{"mesos_marathon", "marathon.conf"}, {"mesos_chronos", "chronos.conf"}} {
			if slices.Contains(g.Roles, r.role) && jobs[r.job] == "" {
				n.faultf("no /etc/init/%s on a %s node", r.job, r.role)
			}
		}
	}
	return n.faults
}

// checkChefJSON checks that every node['mesos'] attribute of
// clusters/<c>/chef/<group>.json is one serengeti-pantry's mesos cookbook
// reads.
func checkChefJSON(t *testing.T, judgesDir string, p *Plan) {
	t.Helper()
	var src strings.Builder
	for _, dir := range []string{"recipes", "templates/default", "attributes", "libraries"} {
		m, _ := filepath.Glob(filepath.Join(judgesDir, "serengeti-pantry/cookbooks/mesos", dir, "*"))
		for _, f := range m {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	for _, f := range p.Files {
		if !strings.Contains(f.Path, "/chef/") || !strings.HasPrefix(f.Path, "clusters/") {
			continue
		}
		var j map[string]map[string]any
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(f.Data, &raw); err != nil {
			t.Fatal(err)
		}
		for k := range raw {
			if k != "run_list" && k != "mesos" {
				t.Errorf("%s sets %s, which no cookbook of the node reads", f.Path, k)
			}
		}
		_ = json.Unmarshal(f.Data, &j)
		for _, k := range slices.Sorted(maps.Keys(j["mesos"])) {
			if !strings.Contains(src.String(), "['mesos']['"+k+"']") {
				t.Errorf("%s sets mesos.%s, which serengeti-pantry's mesos cookbook never reads", f.Path, k)
			}
		}
	}
}

func simSites(t *testing.T) []simSite {
	return []simSite{{"example", exampleHCL(t), "0.22.0"}, {"mesos-0.21", previousSite(t), "0.21.0"}}
}

// A node's first converge, simulated with real parts, for every node group
// of the example (Mesos 0.22.0) and of a Mesos 0.21.0 site with other
// roles: the bundle's RPMs installed with real rpm --root in the order the
// recipes install them, the cookbook's writes applied in run-list order,
// the real mesos-init-wrapper of the packages' revision run, its command
// line judged by stout's rules against the release's flag list; every init
// job's program is installed, nothing the bundle wrote is shadowed, and
// the quorum and attributes are the definition's.
func TestNodeFirstConverge(t *testing.T) {
	j := judges(t)
	for _, site := range simSites(t) {
		t.Run(site.name, func(t *testing.T) {
			p, diags := compileFacts(t, site.text, nil)
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("the site does not compile:%s", diagText(errs))
			}
			checkChefJSON(t, j, p)
			for _, g := range p.Clusters[0].NodeGroups {
				t.Run(g.Name, func(t *testing.T) {
					for _, f := range simulateGroup(t, j, site, p, g.Name, nil) {
						t.Error(f)
					}
				})
			}
		})
	}
}

// The judges catch what issue 22 found on a node: configuration written
// before the package is installed is shadowed (.rpmnew becomes an unknown
// flag), an ISOLATION variable besides the isolation file is a duplicate
// flag, a flag the release lacks stops the daemon, and an init job whose
// program is not installed fails.
func TestNodeJudgesCatch(t *testing.T) {
	j := judges(t)
	site := simSites(t)[0]
	p, diags := compileFacts(t, site.text, nil)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("the site does not compile:%s", diagText(errs))
	}
	// before_mesos' writes ahead of the package installs (the old order).
	writesFirst := func(steps []simStep) []simStep {
		var writes, rest []simStep
		for _, s := range steps {
			if s.Op != "package" && s.Cookbook == CookbookName(p.Name) && strings.HasPrefix(s.Path, "/etc/mesos-") || s.Op == "mkdir" {
				writes = append(writes, s)
			} else {
				rest = append(rest, s)
			}
		}
		return append(writes, rest...)
	}
	appendTo := func(path, text string) func([]simStep) []simStep {
		return func(steps []simStep) []simStep {
			for i := len(steps) - 1; i >= 0; i-- {
				if steps[i].Op == "write" && steps[i].Path == path {
					c := *steps[i].Content + text
					steps[i].Content = &c
					return steps
				}
			}
			t.Fatalf("no write of %s", path)
			return nil
		}
	}
	rewrite := func(path, old, new string) func([]simStep) []simStep {
		return func(steps []simStep) []simStep {
			for i := range steps {
				if steps[i].Op == "write" && steps[i].Path == path && steps[i].Content != nil {
					c := strings.ReplaceAll(*steps[i].Content, old, new)
					steps[i].Content = &c
				}
			}
			return steps
		}
	}
	for _, tc := range []struct {
		name, group string
		mutate      func([]simStep) []simStep
		want        string
	}{
		{"written before install", "master", writesFirst, "Failed to load unknown flag 'quorum.rpmnew'"},
		{"ISOLATION and the isolation file", "bulk", appendTo("/etc/default/mesos-slave", "ISOLATION=\"cgroups/cpu,cgroups/mem\"\n"), "Duplicate flag 'isolation'"},
		{"dead setting", "bulk", appendTo("/etc/default/mesos-slave", "CHECKPOINT=\"true\"\n"), "sets CHECKPOINT, which mesos-init-wrapper never reads"},
		{"flag 0.22 removed", "bulk", func(steps []simStep) []simStep {
			c := "true\n"
			return append(steps, simStep{Op: "write", Path: "/etc/mesos-slave/checkpoint", Content: &c})
		}, "Failed to load unknown flag 'checkpoint'"},
		{"Chronos in /usr/bin", "master", rewrite("/etc/init/chronos.conf", "/usr/local/bin/chronos", "/usr/bin/chronos"), `/etc/init/chronos.conf execs "/usr/bin/chronos", which is not an installed program`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			faults := simulateGroup(t, j, site, p, tc.group, tc.mutate)
			if !slices.ContainsFunc(faults, func(f string) bool { return strings.Contains(f, tc.want) }) {
				t.Errorf("the judges did not report %q; faults: %q", tc.want, faults)
			}
		})
	}
}

// The compiler's flag lists are the judges' (apache/mesos 0.21.0, 0.22.0).
func TestMesosFlagListsMatchJudges(t *testing.T) {
	j := judges(t)
	for _, v := range []string{"0.21.0", "0.22.0"} {
		for _, d := range MesosDaemons {
			want := readFlagList(t, filepath.Join(j, "mesos-flags", v, d+".flags"))
			got, rel, ok := MesosFlags(v, d)
			if !ok || rel != v || !maps.Equal(got, want) {
				t.Errorf("mesos-%s %s: the compiler's flags differ from the judges' list", d, v)
			}
		}
	}
}

// expandRunList expands a node's run list as Chef does: roles into their
// run lists, depth first, each recipe kept where it first appears. Bundle
// roles come from the plan, BDE's from serengeti-pantry's roles/*.rb.
func expandRunList(t *testing.T, p *Plan, pantryRoles string, entries []string, seen map[string]bool, out *[]string) {
	t.Helper()
	for _, e := range entries {
		role, isRole := strings.CutPrefix(e, "role[")
		if !isRole {
			r := strings.TrimSuffix(strings.TrimPrefix(e, "recipe["), "]")
			if !strings.Contains(r, "::") {
				r += "::default"
			}
			if !seen[r] {
				seen[r] = true
				*out = append(*out, r)
			}
			continue
		}
		role = strings.TrimSuffix(role, "]")
		if seen["role:"+role] {
			continue
		}
		seen["role:"+role] = true
		var list []string
		if f := planFileOrNil(p, RolesDir+role+".json"); f != nil {
			var r struct {
				RunList []string `json:"run_list"`
			}
			if err := json.Unmarshal(f.Data, &r); err != nil {
				t.Fatal(err)
			}
			list = r.RunList
		} else {
			b, err := os.ReadFile(filepath.Join(pantryRoles, role+".rb"))
			if err != nil {
				t.Fatalf("role %s is neither the bundle's nor BDE's: %v", role, err)
			}
			m := regexp.MustCompile(`run_list \*%w\[([^\]]*(?:\][^\]]*)*?)\n\]`).FindSubmatch(b)
			if m == nil {
				t.Fatalf("%s: no run_list", role)
			}
			list = strings.Fields(string(m[1]))
		}
		expandRunList(t, p, pantryRoles, list, seen, out)
	}
}

func planFileOrNil(p *Plan, path string) *File {
	for _, f := range p.Files {
		if f.Path == path {
			return f
		}
	}
	return nil
}

// On every node, BDE's error handler (hadoop_common::pre_run, in
// role[basic]) is registered before any recipe of the bundle runs; the
// packages are installed before the configuration is written, and that
// before the mesos recipes start Mesos.
func TestRunListOrder(t *testing.T) {
	j := judges(t)
	for _, site := range simSites(t) {
		p, diags := compileFacts(t, site.text, nil)
		if errs := errorsOf(diags); len(errs) > 0 {
			t.Fatalf("%s does not compile:%s", site.name, diagText(errs))
		}
		cb := CookbookName(p.Name)
		var spec clusterSpec
		if err := json.Unmarshal(planFile(t, p, "clusters/mesos01/spec.json").Data, &spec); err != nil {
			t.Fatal(err)
		}
		for _, g := range spec.NodeGroups {
			var entries, recipes []string
			for _, r := range g.Roles {
				entries = append(entries, "role["+r+"]")
			}
			expandRunList(t, p, filepath.Join(j, "serengeti-pantry/roles"), entries, map[string]bool{}, &recipes)
			at := func(r string) int { return slices.Index(recipes, r) }
			order := []string{"hadoop_common::pre_run", cb + "::install", cb + "::before_mesos", "mesos::master", "mesos::slave", cb + "::after_mesos", cb + "::haproxy"}
			last, lastName := -1, ""
			for _, r := range order {
				i := at(r)
				if i < 0 {
					continue
				}
				if i < last {
					t.Errorf("%s/%s: %s runs before %s: %v", site.name, g.Name, r, lastName, recipes)
				}
				last, lastName = i, r
			}
			// zookeeper::default includes pre_run itself (bde-chef.md §3).
			handler := at("hadoop_common::pre_run")
			if z := at("zookeeper::default"); z >= 0 && (handler < 0 || z < handler) {
				handler = z
			}
			for i, r := range recipes {
				if strings.HasPrefix(r, cb+"::") && (handler < 0 || i < handler) {
					t.Errorf("%s/%s: %s runs before BDE's error handler is registered: %v", site.name, g.Name, r, recipes)
				}
			}
		}
	}
}

// The install recipe brings a node to exactly the bundle's versions from
// whatever is installed: a 0.21.0 node is upgraded by the example's
// converge, a 0.22.0 node downgraded by the 0.21.0 site's.
func TestNodeExactVersions(t *testing.T) {
	j := judges(t)
	sites := simSites(t)
	for _, tc := range []struct {
		site             simSite
		group, installed string
		want             map[string]string
	}{
		{sites[0], "master", "0.21.0", map[string]string{"mesos": "0.22.0-1.0.centos65", "marathon": "0.8.0-1.0.146.el6"}},
		{sites[1], "ctl", "0.22.0", map[string]string{"mesos": "0.21.0-1.0.centos65", "marathon": "0.7.5-1.0.el6"}},
	} {
		t.Run(tc.site.name, func(t *testing.T) {
			p, diags := compileFacts(t, tc.site.text, nil)
			if errs := errorsOf(diags); len(errs) > 0 {
				t.Fatalf("the site does not compile:%s", diagText(errs))
			}
			cb := writePlanFiles(t, p, cookbookPrefix(p))
			steps := convergeSteps(t, p, cb, tc.group, filepath.Join(j, "serengeti-pantry/cookbooks/mesos/templates/default"))
			n := newSimNode(t, filepath.Join(inputsDir, "rpms", "mesos-"+tc.installed), filepath.Join(inputsDir, "rpms", "mesos-"+tc.site.mesos))
			for name, vr := range map[string]string{"mesos": tc.installed + "-1.0.centos65", "marathon": map[string]string{"0.21.0": "0.7.5-1.0.el6", "0.22.0": "0.8.0-1.0.146.el6"}[tc.installed]} {
				n.install(name, vr, "x86_64")
			}
			n.replay(steps)
			for _, f := range n.faults {
				t.Error(f)
			}
			for name, vr := range tc.want {
				out, err := n.rpm("-q", "--qf", "%{VERSION}-%{RELEASE}", name)
				if err != nil || out != vr {
					t.Errorf("%s installed: %q (%v), want %s", name, out, err, vr)
				}
			}
		})
	}
}

// releaseOne is the example as release 1 had it: cluster mesos01 on Mesos
// 0.21.0 and Marathon 0.7.5 (distro mesos-previous: the same groups, the
// older packages), before any upgrade block named it as running.
func releaseOne(t *testing.T) string {
	t.Helper()
	text := exampleHCL(t)
	for _, r := range []struct{ old, new string }{
		{"distro   = distro.mesos\n  marathon = \"0.8.0\"", "distro   = distro.mesos-previous\n  marathon = \"0.7.5\""},
		{"  running {\n    distro  = \"mesos\"\n    version = \"0.21.0\"\n  }\n", ""},
	} {
		if !strings.Contains(text, r.old) {
			t.Fatalf("the example's cluster mesos01 no longer has %q", r.old)
		}
		text = strings.Replace(text, r.old, r.new, 1)
	}
	return text
}

// A node upgraded from release 1 (Mesos 0.21.0, Marathon 0.7.5) to release
// 2 (the example: 0.22.0, 0.8.0) on one scratch root, with the real rpm -U:
// the first converge restarts nothing and waits for nothing; the second
// brings every package to release 2's version, notifies the restart of
// each daemon whose package changed, on a slave waits for a master on
// 0.22.0 before its Mesos package changes, and leaves a command line that
// the real 0.22.0 wrapper and stout's rules for 0.22.0 accept (no
// --checkpoint, nothing shadowed).
func TestNodeUpgrade(t *testing.T) {
	j := judges(t)
	pantry := filepath.Join(j, "serengeti-pantry/cookbooks/mesos/templates/default")
	p1, diags := compileFacts(t, releaseOne(t), nil)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("release 1 does not compile:%s", diagText(errs))
	}
	site := simSites(t)[0]
	p2, diags := compileFacts(t, site.text, nil)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("release 2 does not compile:%s", diagText(errs))
	}
	cb1, cb2 := writePlanFiles(t, p1, cookbookPrefix(p1)), writePlanFiles(t, p2, cookbookPrefix(p2))
	for _, tc := range []struct {
		group    string
		restarts map[string][]string // package -> restarts notified
		wait     bool
		want     map[string]string
	}{
		{"master", map[string][]string{
			"mesos": {"bash[restart-mesos-master]"}, "marathon": {"bash[restart-marathon]"}},
			false, map[string]string{"mesos": "0.22.0-1.0.centos65", "marathon": "0.8.0-1.0.146.el6"}},
		{"fast", map[string][]string{"mesos": {"bash[restart-mesos-slave]"}}, true, map[string]string{"mesos": "0.22.0-1.0.centos65"}},
		{"bulk", map[string][]string{"mesos": {"bash[restart-mesos-slave]"}}, true, map[string]string{"mesos": "0.22.0-1.0.centos65"}},
	} {
		t.Run(tc.group, func(t *testing.T) {
			n := newSimNode(t, filepath.Join(inputsDir, "rpms", "mesos-0.21.0"), filepath.Join(inputsDir, "rpms", "mesos-0.22.0"))
			// The restarts the run's updated package resources notify.
			notified := func(r simRun) map[string][]string {
				out := map[string][]string{}
				for _, res := range r.Resources {
					name, ok := strings.CutPrefix(res.ID, "yum_package[")
					if !ok || !n.updated[strings.TrimSuffix(name, "]")] {
						continue
					}
					for _, nt := range res.Notifications {
						if nt[0] != "run" || nt[2] != "delayed" {
							t.Errorf("%s notifies %q", res.ID, nt)
						}
						out[strings.TrimSuffix(name, "]")] = append(out[strings.TrimSuffix(name, "]")], nt[1])
					}
				}
				return out
			}
			waits := func(r simRun) bool {
				block, pkg := -1, -1
				for i, s := range r.Steps {
					if s.Op == "ruby_block" && strings.Contains(s.Name, "Mesos master on 0.22.0") {
						block = i
					}
					if s.Op == "package" && s.Name == "mesos" && pkg < 0 {
						pkg = i
					}
				}
				if block > pkg {
					t.Errorf("the wait for a master comes after the mesos package")
				}
				return block >= 0
			}

			first := convergeAt(t, p1, cb1, tc.group, pantry, n.root)
			if waits(first) {
				t.Error("release 1's first converge waits for a master")
			}
			n.replay(first.Steps)
			if len(n.updated) == 0 {
				t.Error("release 1's first converge installs nothing")
			}
			if got := notified(first); len(got) > 0 {
				t.Errorf("release 1's first converge notifies restarts: %v", got)
			}
			n.updated = nil
			if faults := judgeNode(t, j, simSite{"release 1", "", "0.21.0"}, p1, tc.group, n); len(faults) > 0 {
				t.Fatalf("release 1 does not run: %q", faults)
			}

			second := convergeAt(t, p2, cb2, tc.group, pantry, n.root)
			if got := waits(second); got != tc.wait {
				t.Errorf("release 2's converge waits for a master: %v, want %v", got, tc.wait)
			}
			n.replay(second.Steps)
			if got := notified(second); !maps.EqualFunc(got, tc.restarts, slices.Equal) {
				t.Errorf("release 2's converge restarts %v, want %v", got, tc.restarts)
			}
			for _, f := range judgeNode(t, j, site, p2, tc.group, n) {
				t.Error(f)
			}
			for name, vr := range tc.want {
				out, err := n.rpm("-q", "--qf", "%{VERSION}-%{RELEASE}", name)
				if err != nil || out != vr {
					t.Errorf("%s installed: %q (%v), want %s", name, out, err, vr)
				}
			}
		})
	}
}
