package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/bde/standin"
	"github.com/bdebundle/bundle/out/builder"
	marathonstandin "github.com/bdebundle/bundle/out/marathon/standin"
)

const clusterSpec = `{
  "name": "mesos01",
  "distro": "mesos",
  "distroVendor": "MESOS",
  "distroVersion": "0.22.0",
  "nodeGroups": [
    {"name": "master", "roles": ["zookeeper", "mesos_master"], "instanceNum": 3, "storage": {"type": "SHARED"}, "haFlag": "on", "configuration": {}},
    {"name": "slave", "roles": ["mesos_slave"], "instanceNum": 5, "storage": {"type": "SHARED"}, "haFlag": "off", "configuration": {}}
  ],
  "configuration": {}
}
`

// clusterBundle is the small deploy bundle with cluster mesos01.
func clusterBundle(t *testing.T) string {
	t.Helper()
	return clusterBundleWith(t)
}

// clusterBundleWith is clusterBundle with more files.
func clusterBundleWith(t *testing.T, more ...*compiler.File) string {
	t.Helper()
	plan := &compiler.Plan{Name: "mesos-site", Version: "2015.03.1", Epoch: 1426032000, DefinitionDigest: strings.Repeat("0", 64),
		Files: append([]*compiler.File{
			{Path: "serengeti/www/distros/manifest", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "clusters/mesos01/spec.json", Mode: 0o644, Data: []byte(clusterSpec)},
		}, more...),
		Distros:  []*compiler.DistroPlan{{Name: "mesos", Vendor: "MESOS", Version: "0.22.0"}},
		Clusters: []*compiler.ClusterPlan{{Name: "mesos01", Distro: "mesos"}},
		Targets:  []*compiler.Target{{Name: "site", Datacenter: "DC1", Datastore: "vsanDatastore"}},
	}
	res, err := builder.Build(context.Background(), mustCheck(t, plan), t.TempDir(), builder.Options{NoArchive: true, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.Dir
}

// TestDeployClustersAndStatus: one plan lists the cluster to create;
// status says the site differs (exit 1); the deploy creates it with the
// bundle's spec; status then matches (exit 0) and a re-run writes
// nothing. A wrong password is exit 1 and never printed; a BDE that
// answers garbage is exit 3.
func TestDeployClustersAndStatus(t *testing.T) {
	dir := clusterBundle(t)
	startSim(t)
	const pw = "Bde-Secret-77"
	srv := standin.New(map[string]string{"admin": pw}, nil)
	defer srv.Close()
	srv.SetDistro("mesos", "MESOS", "0.22.0")
	srv.Polls = 0
	t.Setenv("BDE_URL", srv.BaseURL())
	t.Setenv("BDE_USERNAME", "admin")
	t.Setenv("BDE_PASSWORD", pw)
	args := []string{dir, "--datastore-path", "clusters"}
	writes := func(from int) []string {
		var w []string
		for _, c := range srv.Calls()[from:] {
			if c.Write() {
				w = append(w, c.Method+" "+c.Path)
			}
		}
		return w
	}

	code, stdout, stderr := run(t, append([]string{"deploy", "--dry-run"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "Clusters through BDE "+srv.BaseURL()) || !strings.Contains(stdout, "+ cluster   create     mesos01") ||
		strings.Index(stdout, "Clusters through BDE") < strings.Index(stdout, "serengeti/www/distros/manifest") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, append([]string{"deploy", "--dry-run", "--json"}, args...)...)
	var plan map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["event"] == "cluster_config_plan" {
			plan = e["plan"].(map[string]any)
		}
	}
	if code != ExitOK || plan == nil || len(plan["changes"].([]any)) != 1 || plan["changes"].([]any)[0].(map[string]any)["action"] != "create" {
		t.Fatalf("dry run --json: exit %d, plan %v\n%s", code, plan, stdout)
	}
	if w := writes(0); len(w) != 0 {
		t.Fatalf("the dry runs wrote: %v", w)
	}

	code, stdout, stderr = run(t, append([]string{"status"}, args...)...)
	if code != ExitUser || !strings.Contains(stdout, "DIFFERS cluster   mesos01") || !strings.Contains(stdout, "have absent") {
		t.Fatalf("status before: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = run(t, append([]string{"deploy", "--json"}, args...)...)
	var polls int
	var result map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		switch e["event"] {
		case "site_progress":
			if e["step"] == "clusters" && e["progress"].(map[string]any)["change"].(map[string]any)["name"] == "mesos01" {
				polls++
			}
		case "result":
			result = e
		}
	}
	if code != ExitOK || polls == 0 || result == nil || result["ok"] != true {
		t.Fatalf("deploy: exit %d, %d polls, result %v\n%s%s", code, polls, result, stdout, stderr)
	}
	spec, err := os.ReadFile(filepath.Join(dir, "clusters", "mesos01", "spec.json"))
	if err != nil || len(spec) == 0 {
		t.Fatalf("the bundle's spec: %q %v", spec, err)
	}
	var created bool
	for _, c := range srv.Calls() {
		if c.Method == "POST" && c.Path == "/serengeti/api/clusters" {
			created = string(c.Body) == string(spec)
		}
	}
	if !created || srv.ClusterStatus("mesos01") != "RUNNING" {
		t.Fatalf("the cluster was not created from the bundle's spec: %v", writes(0))
	}

	n := len(srv.Calls())
	code, stdout, stderr = run(t, append([]string{"status"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "The site matches the bundle") || !strings.Contains(stdout, "ok      nodegroup mesos01/slave") {
		t.Fatalf("status after: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, append([]string{"deploy"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "No changes") {
		t.Fatalf("re-run: exit %d\n%s%s", code, stdout, stderr)
	}
	if w := writes(n); len(w) != 0 {
		t.Fatalf("status and a re-run against a matching site wrote: %v", w)
	}
	code, stdout, stderr = run(t, append([]string{"status", "--skip-clusters", "--json"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, `"clusters": "--skip-clusters"`) {
		t.Fatalf("status --skip-clusters: exit %d\n%s%s", code, stdout, stderr)
	}

	// A wrong password: exit 1, the password in no output.
	t.Setenv("BDE_PASSWORD", "Wrong-"+pw)
	for _, verb := range [][]string{{"status", "-v"}, {"deploy", "-v"}, {"deploy", "--json"}, {"status", "--json"}, {"deploy", "--dry-run"}} {
		code, stdout, stderr = run(t, append(verb, args...)...)
		if code != ExitUser || !strings.Contains(stdout+stderr, "refused the login") || strings.Contains(stdout+stderr, pw) {
			t.Errorf("%v with a wrong password: exit %d\n%s%s", verb, code, stdout, stderr)
		}
	}
	t.Setenv("BDE_PASSWORD", pw)

	// Garbage: a web server that is not BDE.
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/j_spring_security_check") {
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "1"})
			return
		}
		_, _ = w.Write([]byte("<html><body>Welcome to nginx!</body></html>"))
	}))
	defer garbage.Close()
	t.Setenv("BDE_URL", garbage.URL)
	for _, verb := range []string{"status", "deploy"} {
		code, stdout, stderr = run(t, append([]string{verb}, args...)...)
		if code != ExitEnv || !strings.Contains(stderr, "unavailable") || !strings.Contains(stderr, "not BDE's JSON") || strings.Contains(stdout+stderr, pw) {
			t.Errorf("%s against garbage: exit %d\n%s%s", verb, code, stdout, stderr)
		}
	}
}

// TestDeployInterruptedBetweenClustersAndApps: Marathon is down when the
// deploy reaches the apps: the clusters are done, the deploy stops with
// exit 3 and says how to finish; the re-run with Marathon up writes
// nothing to BDE and PUTs the app once; a third run writes nothing.
func TestDeployInterruptedBetweenClustersAndApps(t *testing.T) {
	dir := clusterBundleWith(t, &compiler.File{Path: "clusters/mesos01/marathon/web.json", Mode: 0o644,
		Data: []byte(`{"id": "/web", "cmd": "python -m SimpleHTTPServer $PORT0", "instances": 2, "cpus": 0.1, "mem": 64}` + "\n")})
	startSim(t)
	const pw = "Bde-Secret-78"
	srv := standin.New(map[string]string{"admin": pw}, nil)
	defer srv.Close()
	srv.SetDistro("mesos", "MESOS", "0.22.0")
	srv.Polls = 0
	mar := marathonstandin.New()
	defer mar.Close()
	mar.Polls = 0
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	t.Setenv("BDE_URL", srv.BaseURL())
	t.Setenv("BDE_USERNAME", "admin")
	t.Setenv("BDE_PASSWORD", pw)
	t.Setenv("MARATHON_URL", downURL)
	args := []string{dir, "--datastore-path", "apps"}
	bdeWrites := func(from int) int {
		n := 0
		for _, c := range srv.Calls()[from:] {
			if c.Write() {
				n++
			}
		}
		return n
	}

	code, stdout, stderr := run(t, append([]string{"deploy"}, args...)...)
	if code != ExitEnv || srv.ClusterStatus("mesos01") != "RUNNING" || !strings.Contains(stderr, "Apps: not changed") ||
		!strings.Contains(stderr, "Finish with: bundle deploy "+dir) || strings.Contains(stdout+stderr, pw) {
		t.Fatalf("deploy with Marathon down: exit %d, mesos01 %q\n%s%s", code, srv.ClusterStatus("mesos01"), stdout, stderr)
	}

	t.Setenv("MARATHON_URL", mar.URL)
	n := len(srv.Calls())
	code, stdout, stderr = run(t, append([]string{"deploy", "--dry-run"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "Apps through Marathon") || !strings.Contains(stdout, "+ app       create     /web") ||
		strings.Index(stdout, "Apps through Marathon") < strings.Index(stdout, "Clusters through BDE") {
		t.Fatalf("plan of the re-run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, append([]string{"deploy"}, args...)...)
	if code != ExitOK || bdeWrites(n) != 0 || len(mar.Writes()) != 1 || mar.Writes()[0].String() != "PUT /v2/apps/web" {
		t.Fatalf("re-run: exit %d, BDE writes %d, Marathon writes %v\n%s%s", code, bdeWrites(n), mar.Writes(), stdout, stderr)
	}
	n = len(srv.Calls())
	code, stdout, stderr = run(t, append([]string{"deploy"}, args...)...)
	if code != ExitOK || bdeWrites(n) != 0 || len(mar.Writes()) != 1 {
		t.Fatalf("third run: exit %d, BDE writes %d, Marathon writes %v\n%s%s", code, bdeWrites(n), mar.Writes(), stdout, stderr)
	}
	code, stdout, stderr = run(t, append([]string{"status"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "ok      app") {
		t.Fatalf("status: exit %d\n%s%s", code, stdout, stderr)
	}
}
