package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/builder"
	chronosstandin "github.com/bdebundle/bundle/out/chronos/standin"
	marathonstandin "github.com/bdebundle/bundle/out/marathon/standin"
)

// appsJobsBundle is a small deploy bundle with one app and two jobs of
// cluster mesos01.
func appsJobsBundle(t *testing.T) string {
	t.Helper()
	plan := &compiler.Plan{Name: "mesos-site", Version: "2015.03.1", Epoch: 1426032000, DefinitionDigest: strings.Repeat("0", 64),
		Files: []*compiler.File{
			{Path: "serengeti/www/distros/manifest", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "clusters/mesos01/marathon/web.json", Mode: 0o644, Data: []byte(`{"id":"/web","cmd":"web","cpus":0.5,"mem":64,"instances":2,"ports":[0]}` + "\n")},
			{Path: "clusters/mesos01/chronos/backup.json", Mode: 0o644, Data: []byte(`{"name":"backup","command":"backup","schedule":"R/2015-03-01T02:00:00Z/P1D","owner":"ops@example.com","cpus":0.1,"mem":128,"disk":256}` + "\n")},
			{Path: "clusters/mesos01/chronos/verify.json", Mode: 0o644, Data: []byte(`{"name":"verify","command":"verify","parents":["backup"],"owner":"ops@example.com","cpus":0.1,"mem":128,"disk":256}` + "\n")},
		},
		Targets: []*compiler.Target{{Name: "site", Datacenter: "DC1", Datastore: "vsanDatastore"}},
	}
	res, err := builder.Build(context.Background(), mustCheck(t, plan), t.TempDir(), builder.Options{NoArchive: true, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.Dir
}

// TestDeployAppsJobsAndStatus: the dry run lists the app and the jobs to
// create and writes nothing; status says the site differs; the deploy
// PUTs the app and POSTs the jobs, parent first; status then matches and
// a re-run writes nothing. A 409 is exit 1 and says what to do, and
// --force-apps overrides it; a wrong password is exit 1 and never printed;
// a Marathon that answers garbage is exit 3.
func TestDeployAppsJobsAndStatus(t *testing.T) {
	dir := appsJobsBundle(t)
	startSim(t)
	ms, cs := marathonstandin.New(), chronosstandin.New()
	defer ms.Close()
	defer cs.Close()
	const pw = "Marathon-Secret-5"
	ms.Credentials = "ops:" + pw
	t.Setenv("MARATHON_URL", ms.URL)
	t.Setenv("MARATHON_USERNAME", "ops")
	t.Setenv("MARATHON_PASSWORD", pw)
	t.Setenv("CHRONOS_URL", cs.URL)
	args := []string{dir, "--datastore-path", "apps", "--skip-clusters"}
	writes := func() []string {
		var w []string
		for _, c := range ms.Writes() {
			w = append(w, c.String())
		}
		for _, c := range cs.Writes() {
			w = append(w, c.String())
		}
		return w
	}

	code, stdout, stderr := run(t, append([]string{"deploy", "--dry-run"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "Apps through Marathon") || !strings.Contains(stdout, "create     /web") ||
		!strings.Contains(stdout, "Jobs through Chronos") || !strings.Contains(stdout, "create     verify") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	if w := writes(); len(w) != 0 {
		t.Fatalf("the dry run wrote: %v", w)
	}
	code, stdout, stderr = run(t, append([]string{"status"}, args...)...)
	if code != ExitUser || !strings.Contains(stdout, "DIFFERS app") || !strings.Contains(stdout, "DIFFERS job") {
		t.Fatalf("status before: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = run(t, append([]string{"deploy"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "changed in Marathon and Chronos: /web, backup, verify") {
		t.Fatalf("deploy: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, want := strings.Join(writes(), ", "), "PUT /v2/apps/web, POST /scheduler/iso8601, POST /scheduler/dependency"; got != want {
		t.Fatalf("writes %s, want %s", got, want)
	}

	ms.Reset()
	cs.Reset()
	code, stdout, stderr = run(t, append([]string{"status"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "The site matches the bundle") || !strings.Contains(stdout, "2/2 running") {
		t.Fatalf("status after: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, append([]string{"deploy"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "No changes") {
		t.Fatalf("re-run: exit %d\n%s%s", code, stdout, stderr)
	}
	if w := writes(); len(w) != 0 {
		t.Fatalf("status and a re-run against a matching site wrote: %v", w)
	}

	// Another deployment holds the app when the bundle changes it.
	dep := ms.Lock("/web", 1000)
	ms.Set("/web", "instances", 3.0)
	code, stdout, stderr = run(t, append([]string{"deploy"}, args...)...)
	if code != ExitUser || !strings.Contains(stderr, dep) || !strings.Contains(stderr, "force") {
		t.Fatalf("deploy while a deployment runs: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, append([]string{"deploy", "--force-apps", "--app-wait", "5s"}, args...)...)
	if code != ExitOK || !strings.Contains(stdout, "/web") {
		t.Fatalf("deploy --force-apps: exit %d\n%s%s", code, stdout, stderr)
	}

	// A wrong password: exit 1, the password in no output.
	t.Setenv("MARATHON_PASSWORD", "Wrong-"+pw)
	for _, verb := range []string{"status", "deploy"} {
		code, stdout, stderr = run(t, append([]string{verb, "-v"}, args...)...)
		if code != ExitUser || !strings.Contains(stderr, "refused the login") || strings.Contains(stdout+stderr, pw) {
			t.Errorf("%s with a wrong password: exit %d\n%s%s", verb, code, stdout, stderr)
		}
	}
	t.Setenv("MARATHON_PASSWORD", pw)

	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html><body>Welcome to nginx!</body></html>"))
	}))
	defer garbage.Close()
	t.Setenv("MARATHON_URL", garbage.URL)
	for _, verb := range []string{"status", "deploy"} {
		code, stdout, stderr = run(t, append([]string{verb}, args...)...)
		if code != ExitEnv || !strings.Contains(stderr, "unavailable") || !strings.Contains(stderr, "not Marathon's JSON") {
			t.Errorf("%s against garbage: exit %d\n%s%s", verb, code, stdout, stderr)
		}
	}
}

func TestAppWaitNegative(t *testing.T) {
	dir := appsJobsBundle(t)
	startSim(t)
	t.Setenv("MARATHON_URL", "127.0.0.1:1")
	code, stdout, stderr := run(t, "deploy", "--dry-run", "--skip-clusters", "--app-wait", "-1s", dir)
	if code != ExitUsage || !strings.Contains(stderr, "negative") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}
