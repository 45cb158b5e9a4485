package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/bde/standin"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/vmware/govmomi/simulator"
)

// release1 turns the example (release 2: Mesos 0.22.0, 0.21.0 kept,
// mesos01 moving) into the release before it: Mesos 0.21.0 under the
// distro name "mesos", Marathon 0.7.5, no upgrade or running block.
func release1(t *testing.T, src string) string {
	t.Helper()
	i, j := strings.Index(src, "repo \"mesos\" {"), strings.Index(src, "cluster \"mesos01\" {")
	k, l := strings.Index(src, "\nupgrade {"), strings.Index(src, "storage_profile \"vsan\"")
	if i < 0 || j < i || k < 0 || l < k {
		t.Fatal("the example's layout changed")
	}
	baseline := src[strings.Index(src, "  baseline {"):]
	baseline = baseline[:strings.Index(baseline, "\n  }\n")+5]
	r1 := `repo "mesos" {
  version  = "0.21.0"
  packages = ["rpms/mesos-0.21.0"]
  base_url = "${local.yum}/repos/mesos/0.21.0/"
}

distro "mesos" {
  vendor  = "MESOS"
  version = "0.21.0"
  repos   = [repo.mesos]
  roles   = ["zookeeper", "mesos_master", "mesos_slave", "mesos_docker", "mesos_chronos", "mesos_marathon"]

` + baseline + `}

`
	out := src[:k] + "\n" + src[l:i] + r1 + src[j:]
	for _, e := range [][2]string{
		{`version     = "2015.03.1"`, `version     = "2015.02.0"`},
		{`epoch       = 1426032000`, `epoch       = 1423008000`},
		{`marathon = "0.8.0"`, `marathon = "0.7.5"`},
		{"  running {\n    distro  = \"mesos\"\n    version = \"0.21.0\"\n  }\n", ""},
	} {
		if !strings.Contains(out, e[0]) {
			t.Fatalf("release 1: no %q in the example", e[0])
		}
		out = strings.Replace(out, e[0], e[1], 1)
	}
	return out
}

// simDatastore starts the vCenter simulator as startSim does and returns
// the local directory behind datastore LocalDS_0.
func simDatastore(t *testing.T) string {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword("deployer", "cli-s3cret")}
	srv := m.Service.NewServer()
	t.Cleanup(func() { srv.Close(); m.Remove() })
	for k, v := range map[string]string{"GOVC_URL": srv.URL.String(), "GOVC_INSECURE": "true", "GOVC_DATACENTER": "DC0",
		"GOVC_DATASTORE": "LocalDS_0", "GOVC_RESOURCE_POOL": "DC0_C0/Resources", "GOVC_NETWORK": "VM Network", "GOVC_FOLDER": "vm"} {
		t.Setenv(k, v)
	}
	for _, e := range m.Map().All("Datastore") {
		if ds := e.(*simulator.Datastore); ds.Name == "LocalDS_0" {
			return ds.Summary.Url
		}
	}
	t.Fatal("datastore LocalDS_0 not found")
	return ""
}

// planEvents runs a JSON dry run and returns the plan items by name.
func planEvents(t *testing.T, args ...string) (items map[string]map[string]any, clusterPlan map[string]any) {
	t.Helper()
	code, stdout, stderr := run(t, append([]string{"deploy", "--dry-run", "--json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	items = map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		switch e["event"] {
		case "plan":
			it, _ := e["item"].(map[string]any)
			if it == nil {
				it = e
			}
			items[it["kind"].(string)+" "+it["name"].(string)] = it
		case "cluster_config_plan":
			clusterPlan = e["plan"].(map[string]any)
		}
	}
	return items, clusterPlan
}

// TestTwoReleases deploys release 1 of a site to the vCenter simulator and
// BDE's stand-in, then release 2 over it: Mesos 0.21.0 → 0.22.0 with
// 0.21.0 kept under its own name, cluster mesos01 moved by cluster config.
// (The node side — rpm -U of a node from release 1 to 2 — waits for the
// cookbook's upgrade work.)
func TestTwoReleases(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "examples", "mesos-site", "site.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	// No site registry: the images are not the subject here.
	r2src := strings.Replace(string(src), "  registry       = \"registry.localdomain:5000\"\n", "", 1)
	dir1, dir2 := filepath.Join(t.TempDir(), "r1"), filepath.Join(t.TempDir(), "r2")
	writeExample(t, dir1)
	writeExample(t, dir2)
	must0(t, os.WriteFile(filepath.Join(dir1, "site.hcl"), []byte(release1(t, r2src)), 0o644))
	must0(t, os.WriteFile(filepath.Join(dir2, "site.hcl"), []byte(r2src), 0o644))
	dist := filepath.Join(t.TempDir(), "dist")
	build := func(dir string) {
		for _, args := range [][]string{{"lock", dir, "-q"}, {"build", dir, "-o", dist, "-q", "--no-cache", "--offline"}} {
			if code, stdout, stderr := run(t, args...); code != ExitOK {
				t.Fatalf("bundle %v: exit %d\n%s%s", args, code, stdout, stderr)
			}
		}
	}
	build(dir1)
	b1 := filepath.Join(dist, "mesos-site-2015.02.0")
	// Release 2 names what release 1 left on the site: its manifest.
	testutil.CopyFiles(t, filepath.Join(dir2, "site"), filepath.Join(b1, "serengeti", "www", "distros", "manifest"))
	build(dir2)
	b2 := filepath.Join(dist, "mesos-site-2015.03.1")

	// BDE runs mesos01 as release 1 created it.
	var spec1 map[string]any
	raw1, err := os.ReadFile(filepath.Join(b1, "clusters", "mesos01", "spec.json"))
	must0(t, err)
	must0(t, json.Unmarshal(raw1, &spec1))
	bdeSrv := standin.New(map[string]string{"admin": "bde-s3cret"}, map[string]*standin.Cluster{"mesos01": {Distro: "mesos", DistroVendor: "MESOS", DistroVersion: "0.21.0", Spec: spec1}})
	defer bdeSrv.Close()
	bdeSrv.Polls = 0
	t.Setenv("BUNDLE_BDE_PASSWORD", "bde-s3cret")
	dsDir := simDatastore(t)
	bdeArgs := []string{"--datastore-path", "site", "--bde-url", bdeSrv.BaseURL(), "--bde-user", "admin"}

	// Release 1: BDE has it all, BDE is read and not written.
	if code, stdout, stderr := run(t, append([]string{"deploy", b1}, bdeArgs...)...); code != ExitOK {
		t.Fatalf("deploy release 1: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, c := range bdeSrv.Calls() {
		if c.Write() {
			t.Fatalf("release 1 wrote to BDE: %s %s", c.Method, c.Path)
		}
	}

	// The plan of release 2: only what changed, then the clusters.
	code, stdout, stderr := run(t, append([]string{"deploy", b2, "--dry-run"}, bdeArgs...)...)
	if code != ExitOK || !strings.Contains(stdout, "\nClusters through BDE "+bdeSrv.BaseURL()) ||
		!strings.Contains(stdout, "~ cluster   config     mesos01") || !strings.Contains(stdout, "cluster configuration differs; the bundle's distro mesos 0.22.0") {
		t.Fatalf("plan of release 2: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "no management_server") {
		t.Errorf("no warning that the target copies nothing into the management server:\n%s", stderr)
	}
	items, cp := planEvents(t, append([]string{b2}, bdeArgs...)...)
	if cp == nil || len(cp["moves"].([]any)) != 1 {
		t.Errorf("cluster config plan: %v", cp)
	}
	m1, m2 := readManifest(t, b1), readManifest(t, b2)
	// What changed from release 1 to 2 under serengeti/ (what deploy
	// uploads), and the templates.
	old := map[string]string{}
	for _, f := range m1.Files {
		old[f.Path] = f.SHA256
	}
	var changed []string
	var changedBytes int64
	for _, f := range m2.Files {
		if strings.HasPrefix(f.Path, "serengeti/") && old[f.Path] != f.SHA256 {
			changed = append(changed, f.Path)
			changedBytes += f.Size
		}
	}
	var uploaded []string
	var uploadBytes int64
	for k, it := range items {
		switch it["action"] {
		case "create", "update", "replace":
			uploaded = append(uploaded, strings.TrimPrefix(strings.TrimPrefix(k, "file "), "template "))
			uploadBytes += int64(it["size"].(float64))
		}
		if strings.HasPrefix(k, "template ") && it["action"] != "leave" {
			t.Errorf("release 2 re-imports template %v: its disk and settings did not change", it["name"])
		}
		if it["action"] == "delete" {
			t.Errorf("release 2 deletes %v", it["name"])
		}
	}
	sort.Strings(uploaded)
	sort.Strings(changed)
	if !slices.Equal(uploaded, changed) {
		t.Errorf("release 2 uploads\n  %s\nbut what changed is\n  %s", strings.Join(uploaded, "\n  "), strings.Join(changed, "\n  "))
	}
	for _, p := range uploaded {
		if strings.Contains(p, "/repos/mesos/0.21.0/") {
			t.Errorf("release 2 uploads %s of the unchanged 0.21.0 repo", p)
		}
	}
	var total int64
	for _, f := range m2.Files {
		total += f.Size
	}
	// What stays byte-identical and is not sent again: the templates
	// (their descriptors once carried the bundle version, so every one
	// was imported again) and the kept repo's repodata (once timed by the
	// bundle's epoch).
	var templateBytes, keptRepodata int64
	for _, f := range m2.Files {
		switch {
		case strings.HasPrefix(f.Path, "ovf/") && !strings.HasSuffix(f.Path, ".ova"):
			templateBytes += f.Size
		case strings.Contains(f.Path, "/repos/mesos/0.21.0/repodata/"):
			keptRepodata += f.Size
			if old[f.Path] != f.SHA256 {
				t.Errorf("the repodata of the unchanged 0.21.0 repo changed: %s", f.Path)
			}
		}
		if (strings.HasSuffix(f.Path, ".ovf") || strings.HasSuffix(f.Path, ".mf")) && old[f.Path] != f.SHA256 {
			t.Errorf("template file %s changed though its disk and settings did not", f.Path)
		}
	}
	t.Logf("release 2: uploads %d files, %d bytes; changed under serengeti/: %d files, %d bytes; the bundle holds %d bytes; left as they were: templates (ovf, mf, disks) %d bytes, the 0.21.0 repodata %d bytes", len(uploaded), uploadBytes, len(changed), changedBytes, total, templateBytes, keptRepodata)
	if uploadBytes != changedBytes {
		t.Errorf("uploads %d bytes, %d changed", uploadBytes, changedBytes)
	}

	// A wrong password: the upload happens, the login is refused (exit
	// 1), the password is never printed.
	t.Setenv("BUNDLE_BDE_PASSWORD", "not-the-password")
	code, stdout, stderr = run(t, append([]string{"deploy", b2}, bdeArgs...)...)
	if code != ExitUser || !strings.Contains(stderr, "refused the login") || strings.Contains(stdout+stderr, "not-the-password") {
		t.Fatalf("wrong password: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Setenv("BUNDLE_BDE_PASSWORD", "bde-s3cret")
	// A task that fails: exit 1 with BDE's errorMessage.
	bdeSrv.SetFail("mesos01", "Bootstrap failed on mesos01-bulk-4")
	code, stdout, stderr = run(t, append([]string{"deploy", b2}, bdeArgs...)...)
	if code != ExitUser || !strings.Contains(stderr, "mesos01-bulk-4") || !strings.Contains(stdout, "No changes") {
		t.Fatalf("failed task: exit %d\n%s%s", code, stdout, stderr)
	}
	// The summary: the upload is done, cluster config is not, the same
	// command finishes once BDE's fault is mended.
	filesLeft := len(items) - 4 // the four templates
	wantStop := fmt.Sprintf(`Deploy of bundle mesos-site 2015.03.1 stopped.
  Files: 0 uploaded (0 B), %d unchanged (%s).
  Templates: 0 imported, 4 unchanged.
  Images: none to push.
  Cluster config: not run (%s: config of cluster mesos01: BDE cluster config mesos01: task 101 ended FAILED: Bootstrap failed on mesos01-bulk-4).
`, filesLeft, progress.Bytes(total-templateBytesAll(m2)), bdeSrv.BaseURL())
	if !strings.Contains(stderr, wantStop) || !strings.Contains(stderr, "Finish with: bundle deploy "+b2+" --bde-url "+bdeSrv.BaseURL()+" --bde-user admin --datastore-path site\n  (once the fault BDE reports is mended;") {
		t.Errorf("failed task: the summary\n%s\nwant\n%s", stderr, wantStop)
	}
	// BDE unreachable: exit 3.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	code, stdout, stderr = run(t, "deploy", b2, "--datastore-path", "site", "--bde-url", closed, "--bde-user", "admin")
	if code != ExitEnv || !strings.Contains(stderr, "cannot be reached") || strings.Contains(stdout+stderr, "bde-s3cret") {
		t.Fatalf("unreachable: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "  Cluster config: not run (") || !strings.Contains(stderr, ": connection refused).\n") ||
		!strings.Contains(stderr, "Finish with: bundle deploy "+b2+" --bde-user admin --datastore-path site --bde-url HOST\n  (HOST is a BDE server this machine reaches (or set BDE_URL); or --skip-clusters to leave the clusters step out)") ||
		strings.Contains(stderr, "Finish with: bundle deploy "+b2+" --bde-url http") {
		t.Errorf("unreachable: the summary\n%s", stderr)
	}
	// With --json, the same facts as fields.
	code, stdout, _ = run(t, "deploy", b2, "--datastore-path", "site", "--bde-url", closed, "--bde-user", "admin", "--json")
	res := lastResult(t, stdout)
	cc := res["steps"].([]any)[3].(map[string]any)
	if code != ExitEnv || res["ok"] != false || cc["step"] != "cluster_config" || cc["state"] != "failed" || cc["planned"] != 1.0 || !strings.HasSuffix(res["finish"].(string), " --bde-url HOST") {
		t.Errorf("unreachable --json: exit %d, result %v", code, res)
	}
	// The re-run finishes: nothing to upload, cluster config runs.
	before := len(bdeSrv.Calls())
	code, stdout, stderr = run(t, append([]string{"deploy", b2}, bdeArgs...)...)
	if code != ExitOK || !strings.Contains(stdout, "\nDeployed bundle mesos-site 2015.03.1: 0 files uploaded (0 B), "+fmt.Sprint(filesLeft)+" skipped as unchanged (") ||
		!strings.HasSuffix(stdout, "), 4 templates unchanged, changed in BDE: mesos01.\n") {
		t.Fatalf("re-run: exit %d\n%s%s", code, stdout, stderr)
	}
	var got []string
	for _, c := range bdeSrv.Calls()[before:] {
		got = append(got, c.Method+" "+c.Path)
		if c.Method == "PUT" {
			spec, _ := os.ReadFile(filepath.Join(b2, "clusters", "mesos01", "spec.json"))
			if !bytes.Equal(c.Body, spec) {
				t.Errorf("PUT body is not the bundle's spec:\n%s", c.Body)
			}
		}
	}
	want := []string{"POST /serengeti/j_spring_security_check", "GET /serengeti/api/clusters", "GET /serengeti/api/cluster/mesos01/spec",
		"PUT /serengeti/api/cluster/mesos01/config", "GET /serengeti/api/task/102", "POST /serengeti/j_spring_security_logout"}
	if !slices.Equal(got, want) {
		t.Errorf("REST calls of the re-run:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if st := bdeSrv.ClusterStatus("mesos01"); st != "RUNNING" {
		t.Errorf("mesos01 is %s", st)
	}
	// Once more: the site matches, no write call.
	before = len(bdeSrv.Calls())
	if code, stdout, stderr := run(t, append([]string{"deploy", b2}, bdeArgs...)...); code != ExitOK || strings.Contains(stdout, "changed in BDE") {
		t.Fatalf("third run: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, c := range bdeSrv.Calls()[before:] {
		if c.Write() {
			t.Errorf("a deploy to a matching site wrote: %s %s", c.Method, c.Path)
		}
	}
	// BDE keeps the version mesos01 was created with; the configuration
	// is what moved.
	if v := bdeSrv.ClusterDistroVersion("mesos01"); v != "0.21.0" {
		t.Errorf("mesos01's distro version %s", v)
	}

	// The datastore holds every kept version's repo and the manifest
	// entries point at their own .repo files.
	root := filepath.Join(dsDir, "site")
	for _, v := range []string{"0.21.0", "0.22.0"} {
		rpms, _ := filepath.Glob(filepath.Join(root, "serengeti/www/yum/repos/mesos", v, "*.rpm"))
		if len(rpms) == 0 {
			t.Errorf("the datastore lost the %s packages", v)
		}
		if _, err := os.Stat(filepath.Join(root, "serengeti/www/yum/repos/mesos", v, "repodata/repomd.xml")); err != nil {
			t.Errorf("the %s repodata: %v", v, err)
		}
	}
	var entries []struct {
		Name, Version string
		Packages      []struct {
			PackageRepos []string `json:"package_repos"`
		}
	}
	data, err := os.ReadFile(filepath.Join(root, "serengeti/www/distros/manifest"))
	must0(t, err)
	must0(t, json.Unmarshal(data, &entries))
	gotEntries := map[string]string{}
	for _, e := range entries {
		gotEntries[e.Name] = e.Version + " " + strings.Join(e.Packages[0].PackageRepos, ",")
	}
	wantEntries := map[string]string{
		"mesos":          "0.22.0 https://bde.localdomain/yum/mesos.repo",
		"mesos-previous": "0.21.0 https://bde.localdomain/yum/mesos-previous.repo",
	}
	if len(gotEntries) != 2 || gotEntries["mesos"] != wantEntries["mesos"] || gotEntries["mesos-previous"] != wantEntries["mesos-previous"] {
		t.Errorf("manifest entries %v, want %v", gotEntries, wantEntries)
	}
	for name, dirWant := range map[string]string{"mesos.repo": "/repos/mesos/0.22.0/", "mesos-previous.repo": "/repos/mesos/0.21.0/"} {
		b, err := os.ReadFile(filepath.Join(root, "serengeti/www/yum", name))
		if err != nil || !strings.Contains(string(b), dirWant) {
			t.Errorf("%s does not point at %s: %v\n%s", name, dirWant, err, b)
		}
	}

	// The release notes: by name, and their patches apply to release 1.
	code, stdout, stderr = run(t, "diff", b1, b2)
	if os.Getenv("SHOW_DIFF") != "" {
		t.Log(stdout)
	}
	if code != ExitOK || !strings.Contains(stdout, "upgraded mesos 0.21.0 → 0.22.0 (cluster mesos01 moves)") || !strings.Contains(stdout, "added mesos-previous") {
		t.Fatalf("diff: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasSuffix(line, "(mesos/0.21.0)") || strings.Contains(line, "rpm mesos/0.21.0/") {
			t.Errorf("diff lists an unchanged 0.21.0 package as added: %s", line)
		}
	}
	pf := filepath.Join(t.TempDir(), "r1-r2.diff")
	must0(t, os.WriteFile(pf, []byte(stdout), 0o644))
	for _, c := range [][]string{
		{testutil.RequireTool(t, "git", "git"), "apply", "--check", pf},
		{testutil.RequireTool(t, "patch", "patch"), "-p1", "--dry-run", "-i", pf},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = b1
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%v: %v\n%s", c, err, out)
		}
	}
}

func readManifest(t *testing.T, dir string) *manifest.Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "bundle.json"))
	must0(t, err)
	var m manifest.Manifest
	must0(t, json.Unmarshal(data, &m))
	return &m
}

// templateBytesAll is the size of m's files outside serengeti/: what a
// deploy does not upload to the datastore tree.
func templateBytesAll(m *manifest.Manifest) int64 {
	var n int64
	for _, f := range m.Files {
		if !strings.HasPrefix(f.Path, "serengeti/") {
			n += f.Size
		}
	}
	return n
}
