package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/internal/siteapi"
	"github.com/bdebundle/bundle/out/internal/sitetest"
	"github.com/bdebundle/bundle/out/marathon/standin"
	"github.com/bdebundle/bundle/out/site"
)

const web = `{"id":"/web","cmd":"nginx -g 'daemon off;'","cpus":0.5,"mem":64,"instances":2,"ports":[80],
"constraints":[["storage_profile","CLUSTER","vmax"]],
"healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0,"gracePeriodSeconds":15,"intervalSeconds":10,"timeoutSeconds":20,"maxConsecutiveFailures":3}]}`

const worker = `{"id":"/batch/worker","cmd":"sleep 1000","cpus":0.1,"mem":32,"instances":1,"ports":[0]}`

func step(t *testing.T, s *standin.Server, cfg Config, apps ...string) *Step {
	t.Helper()
	cfg.URL = s.URL
	cfg.Poll = time.Millisecond
	if cfg.Wait == 0 {
		cfg.Wait = 5 * time.Second
	}
	var as []App
	for _, a := range apps {
		as = append(as, App{File: "clusters/mesos01/marathon/x.json", Definition: []byte(a)})
	}
	st, err := New(cfg, as)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCreateThenRerunWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	s.Polls = 2
	st := step(t, s, Config{}, web, worker)
	plan := sitetest.Plan(ctx, t, st, s, "/batch/worker create, /web create")
	var said []string
	if err := st.Apply(ctx, plan, func(p site.Progress) { said = append(said, p.Change.Name+": "+p.Message) }); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"PUT /v2/apps/batch/worker",
		"GET /v2/deployments", "GET /v2/deployments", "GET /v2/deployments",
		"GET /v2/apps/batch/worker",
		"PUT /v2/apps/web",
		"GET /v2/deployments", "GET /v2/deployments", "GET /v2/deployments",
		"GET /v2/apps/web",
	}, "\n")
	if got := sitetest.Calls(s.Calls()); got != want {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, want)
	}
	// The PUT body is the bundle's definition with its digest in labels.
	put := s.Writes()[1]
	var body map[string]any
	if err := json.Unmarshal(put.Body, &body); err != nil {
		t.Fatal(err)
	}
	lb, _ := body["labels"].(map[string]any)
	if dg, _ := lb[LabelDigest].(string); len(dg) != 64 {
		t.Fatalf("PUT body labels = %v, want a sha256 under %s", body["labels"], LabelDigest)
	}
	if body["instances"] != 2.0 || body["cmd"] != "nginx -g 'daemon off;'" {
		t.Fatalf("PUT body = %s", put.Body)
	}
	if !strings.Contains(strings.Join(said, "\n"), "/web: healthy") {
		t.Fatalf("progress: %v", said)
	}
	// A re-run against the matching site (Marathon has added its defaults,
	// versions, counters and assigned the worker's port 0) writes nothing.
	rows := sitetest.Rerun(ctx, t, st, s, "/batch/worker unchanged, /web unchanged")
	if !strings.Contains(rows[1].Have, "2/2 healthy") {
		t.Errorf("status of /web: %q", rows[1].Have)
	}
}

func TestUpdateOnlyTheAppThatDiffers(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	st := step(t, s, Config{}, web, worker)
	plan, _ := st.Plan(ctx)
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	st2 := step(t, s, Config{}, strings.Replace(web, `"instances":2`, `"instances":3`, 1), worker)
	s.Reset()
	plan, err := st2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sitetest.Actions(plan), "/batch/worker unchanged, /web update"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if !strings.Contains(plan[1].Detail, "instances") {
		t.Fatalf("detail %q does not name instances", plan[1].Detail)
	}
	rows, _ := st2.Status(ctx)
	if rows[1].OK {
		t.Fatalf("status says /web matches: %+v", rows[1])
	}
	if err := st2.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	w := s.Writes()
	if len(w) != 1 || w[0].String() != "PUT /v2/apps/web" {
		t.Fatalf("writes: %v", w)
	}
	if got := s.App("/web")["instances"]; got != 3.0 {
		t.Fatalf("instances on the site = %v", got)
	}
}

func TestConflictExplainedAndForce(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	st := step(t, s, Config{}, web)
	plan, _ := st.Plan(ctx)
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	dep := s.Lock("/web", 1000)
	st2 := step(t, s, Config{}, strings.Replace(web, `"mem":64`, `"mem":96`, 1))
	plan, _ = st2.Plan(ctx)
	if !strings.Contains(plan[0].Detail, dep) {
		t.Fatalf("the plan does not say deployment %s holds the app: %q", dep, plan[0].Detail)
	}
	err := st2.Apply(ctx, plan, nil)
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConflictError", err)
	}
	for _, want := range []string{dep, "force", "/v2/deployments"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if s.App("/web")["mem"] != 64.0 {
		t.Fatal("a refused PUT changed the app")
	}
	s.Reset()
	st3 := step(t, s, Config{Force: true}, strings.Replace(web, `"mem":64`, `"mem":96`, 1))
	if err := st3.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	if w := s.Writes(); len(w) != 1 || w[0].String() != "PUT /v2/apps/web?force=true" {
		t.Fatalf("writes: %v", w)
	}
}

func TestUnhealthyIsABoundedWait(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	s.Unhealthy["/web"] = true
	st := step(t, s, Config{Wait: 50 * time.Millisecond}, web)
	plan, _ := st.Plan(ctx)
	start := time.Now()
	err := st.Apply(ctx, plan, nil)
	var we *WaitError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), "0 of 2 tasks healthy") {
		t.Fatalf("err = %v, want a WaitError saying 0 of 2 healthy", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("waited %s", d)
	}
	rows, _ := st.Status(ctx)
	if rows[0].OK || !strings.Contains(rows[0].Have, "0/2 healthy") {
		t.Fatalf("status %+v", rows[0])
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	for _, tc := range []struct{ name, app, want string }{
		{"container type Mesos lacks", `{"id":"/web","cmd":"x","instances":1,"cpus":1,"mem":1,"container":{"type":"RKT"}}`, "not a valid container type"},
		{"operator 0.8 lacks", `{"id":"/web","cmd":"x","instances":1,"cpus":1,"mem":1,"constraints":[["rack","MAX_PER","2"]]}`, "MAX_PER"},
		{"invalid id", `{"id":"/Web_1","cmd":"x","instances":1,"cpus":1,"mem":1}`, "invalid characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := step(t, s, Config{}, tc.app)
			plan, err := st.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = st.Apply(ctx, plan, nil)
			var ae *siteapi.APIError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an APIError saying %q", err, tc.want)
			}
		})
	}
}

func TestBadSite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range sitetest.BadSites(t, "Marathon", `<html>login</html>`) {
		t.Run(tc.Name, func(t *testing.T) {
			st, err := New(Config{URL: tc.URL, HTTPClient: &http.Client{Timeout: tc.Timeout}}, []App{{Definition: []byte(web)}})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = st.Plan(ctx)
			var ue *site.UnavailableError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.Want) {
				t.Fatalf("err = %v, want an UnavailableError saying %q", err, tc.Want)
			}
			if d := time.Since(start); d > tc.Timeout+3*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}

func TestConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		app  string
		want string
	}{
		{Config{URL: "http://marathon.example:8080"}, web, "plain http"},
		{Config{URL: "http://u:p@127.0.0.1:8080"}, web, "credentials"},
		{Config{URL: "127.0.0.1"}, `{"id":`, "reading app"},
		{Config{URL: "127.0.0.1"}, `{"id":"/a b"}`, "not a Marathon app id"},
	} {
		_, err := New(tc.cfg, []App{{Definition: []byte(tc.app)}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := New(Config{URL: "http://marathon.example:8080", Insecure: true}, nil); err != nil {
		t.Errorf("insecure plain http refused: %v", err)
	}
}

func TestAppsOfTwoClusters(t *testing.T) {
	_, err := New(Config{URL: "127.0.0.1"}, []App{{Cluster: "a", Definition: []byte(web)}, {Cluster: "b", Definition: []byte(worker)}})
	if err == nil || !strings.Contains(err.Error(), "own Marathon") {
		t.Fatalf("err = %v", err)
	}
}

func TestDependenciesFirst(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	// /a depends on /z: /z is PUT first although it sorts last.
	a := `{"id":"/a","cmd":"a","cpus":0.1,"mem":16,"instances":1,"dependencies":["/z"]}`
	z := `{"id":"/z","cmd":"z","cpus":0.1,"mem":16,"instances":1}`
	st := step(t, s, Config{}, a, z)
	plan, err := st.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sitetest.Actions(plan), "/z create, /a create"; got != want {
		t.Fatalf("plan %s, want %s", got, want)
	}
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	w := s.Writes()
	if len(w) != 2 || w[0].Path != "/v2/apps/z" || w[1].Path != "/v2/apps/a" {
		t.Fatalf("writes %v", w)
	}
	_, err = New(Config{URL: "127.0.0.1"}, []App{{Definition: []byte(strings.Replace(z, `"instances":1`, `"instances":1,"dependencies":["/a"]`, 1))}, {Definition: []byte(a)}})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	s.Credentials = "ops:s3cret-pw"
	st, err := New(Config{URL: s.URL, Username: "ops", Password: "wrong-pw"}, []App{{Definition: []byte(web)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Plan(ctx)
	var ae *site.AuthError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), "wrong-pw") || !strings.Contains(err.Error(), "ops") {
		t.Fatalf("err = %v, want an AuthError naming the user and not the password", err)
	}
	st, _ = New(Config{URL: s.URL, Username: "ops", Password: "s3cret-pw"}, []App{{Definition: []byte(web)}})
	if _, err := st.Plan(ctx); err != nil {
		t.Fatal(err)
	}
}
