package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chronosstandin "github.com/bdebundle/bundle/out/chronos/standin"
	"github.com/bdebundle/bundle/out/manifest"
	marathonstandin "github.com/bdebundle/bundle/out/marathon/standin"
	outsite "github.com/bdebundle/bundle/out/site"
)

func appsJobsBundle(t *testing.T, files map[string]string) (string, *manifest.Manifest) {
	t.Helper()
	dir := t.TempDir()
	m := &manifest.Manifest{}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, manifest.FileEntry{Path: p})
	}
	return dir, m
}

var ajFiles = map[string]string{
	"clusters/mesos01/marathon/web.json":   `{"id":"/web","cmd":"web","cpus":0.5,"mem":64,"instances":2}`,
	"clusters/mesos01/marathon/api.json":   `{"id":"/api","cmd":"api","cpus":0.5,"mem":64,"instances":1}`,
	"clusters/mesos01/chronos/backup.json": `{"name":"backup","command":"backup","schedule":"R/2015-03-01T02:00:00Z/P1D","owner":"ops@example.com"}`,
	"clusters/mesos01/chronos/verify.json": `{"name":"verify","command":"verify","parents":["backup"],"owner":"ops@example.com"}`,
	"clusters/mesos01/spec.json":           `{}`,
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAppsJobsStepsPlanApplyRerun(t *testing.T) {
	ctx := context.Background()
	ms, cs := marathonstandin.New(), chronosstandin.New()
	defer ms.Close()
	defer cs.Close()
	dir, m := appsJobsBundle(t, ajFiles)
	o := AppsJobsOptions{Getenv: env(map[string]string{"MARATHON_URL": ms.URL, "CHRONOS_URL": cs.URL}), Wait: 5 * time.Second}
	steps, err := LoadAppsJobsSteps(dir, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps.Steps()) != 2 || steps.Steps()[0].Name() != "apps" || steps.Steps()[1].Name() != "jobs" {
		t.Fatalf("steps %+v", steps)
	}
	for _, st := range steps.Steps() {
		ch, err := st.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if outsite.Writes(ch) != 2 {
			t.Fatalf("%s plan %+v", st.Name(), ch)
		}
		if err := st.Apply(ctx, ch, nil); err != nil {
			t.Fatal(err)
		}
	}
	ms.Reset()
	cs.Reset()
	steps, err = LoadAppsJobsSteps(dir, m, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps.Steps() {
		ch, err := st.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if outsite.Writes(ch) != 0 {
			t.Fatalf("re-run %s plan %+v", st.Name(), ch)
		}
		if err := st.Apply(ctx, ch, nil); err != nil {
			t.Fatal(err)
		}
		rows, err := st.Status(ctx)
		if err != nil || !outsite.Matches(rows) {
			t.Fatalf("%s status %+v %v", st.Name(), rows, err)
		}
	}
	if w := ms.Writes(); len(w) != 0 {
		t.Fatalf("re-run wrote to Marathon: %v", w)
	}
	if w := cs.Writes(); len(w) != 0 {
		t.Fatalf("re-run wrote to Chronos: %v", w)
	}
}

// A deploy stopped part way (Marathon holds the second app in another
// deployment) finishes on a re-run, which writes only what is left.
func TestAppsStepResumes(t *testing.T) {
	ctx := context.Background()
	ms := marathonstandin.New()
	defer ms.Close()
	dir, m := appsJobsBundle(t, ajFiles)
	o := AppsJobsOptions{Getenv: env(map[string]string{"MARATHON_URL": ms.URL}), Wait: 5 * time.Second}
	ms.Lock("/web", 1000)
	steps, err := LoadAppsJobsSteps(dir, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if steps.Jobs != nil || steps.JobsLeftOut != "CHRONOS_URL is not set" {
		t.Fatalf("jobs: %+v", steps)
	}
	ch, _ := steps.Apps.Plan(ctx)
	if err := steps.Apps.Apply(ctx, ch, nil); err == nil || !strings.Contains(err.Error(), "force") {
		t.Fatalf("err = %v, want the 409 explained", err)
	}
	if ms.App("/api") == nil || ms.App("/web") != nil {
		t.Fatal("want /api deployed and /web not")
	}
	o.Force = true
	ms.Reset()
	steps, _ = LoadAppsJobsSteps(dir, m, o)
	ch, _ = steps.Apps.Plan(ctx)
	if got := outsite.Writes(ch); got != 1 {
		t.Fatalf("re-run plans %d writes: %+v", got, ch)
	}
	if err := steps.Apps.Apply(ctx, ch, nil); err != nil {
		t.Fatal(err)
	}
	if w := ms.Writes(); len(w) != 1 || w[0].String() != "PUT /v2/apps/web?force=true" {
		t.Fatalf("writes %v", w)
	}
}

func TestAppsJobsLeftOutAndClusters(t *testing.T) {
	dir, m := appsJobsBundle(t, ajFiles)
	steps, err := LoadAppsJobsSteps(dir, m, AppsJobsOptions{Getenv: env(nil)})
	if err != nil || steps.Apps != nil || steps.AppsLeftOut != "MARATHON_URL is not set" {
		t.Fatalf("%+v %v", steps, err)
	}
	steps, _ = LoadAppsJobsSteps(dir, m, AppsJobsOptions{Getenv: env(map[string]string{"MARATHON_URL": "127.0.0.1"}), SkipApps: true})
	if steps.Apps != nil || steps.AppsLeftOut != "--skip-apps" {
		t.Fatalf("%+v", steps)
	}
	if _, err := LoadAppsJobsSteps(dir, m, AppsJobsOptions{Getenv: env(map[string]string{"MARATHON_INSECURE": "maybe"})}); err == nil || !strings.Contains(err.Error(), "MARATHON_INSECURE") {
		t.Fatalf("bad MARATHON_INSECURE: %v", err)
	}
	two := map[string]string{"clusters/b/marathon/x.json": `{"id":"/x","cmd":"x","cpus":1,"mem":1,"instances":1}`}
	for k, v := range ajFiles {
		two[k] = v
	}
	dir, m = appsJobsBundle(t, two)
	if _, err := LoadAppsJobsSteps(dir, m, AppsJobsOptions{Getenv: env(map[string]string{"MARATHON_URL": "127.0.0.1"})}); err == nil || !strings.Contains(err.Error(), "choose one cluster") {
		t.Fatalf("two clusters: %v", err)
	}
	steps, err = LoadAppsJobsSteps(dir, m, AppsJobsOptions{Getenv: env(map[string]string{"MARATHON_URL": "127.0.0.1"}), Cluster: "b"})
	if err != nil || steps.Apps == nil {
		t.Fatalf("cluster b: %+v %v", steps, err)
	}
}

func TestAppsStepJobsStepBuilders(t *testing.T) {
	dir, m := appsJobsBundle(t, ajFiles)
	o := AppsJobsOptions{Getenv: env(map[string]string{"MARATHON_URL": "127.0.0.1:8080"})}
	steps, why, err := AppsStep(o)(dir, m)
	if err != nil || len(steps) != 1 || steps[0].Name() != "apps" || why != "" {
		t.Fatalf("apps: %v %q %v", steps, why, err)
	}
	steps, why, err = JobsStep(o)(dir, m)
	if err != nil || len(steps) != 0 || why != "CHRONOS_URL is not set" {
		t.Fatalf("jobs: %v %q %v", steps, why, err)
	}
	o.Getenv = env(map[string]string{"MARATHON_URL": "ftp://x"})
	if _, _, err := AppsStep(o)(dir, m); err == nil || !strings.Contains(err.Error(), "MARATHON_URL") {
		t.Fatalf("bad URL: %v", err)
	}
}
