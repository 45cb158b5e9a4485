package clusters_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/bde"
	"github.com/bdebundle/bundle/out/bde/standin"
	"github.com/bdebundle/bundle/out/clusters"
	"github.com/bdebundle/bundle/out/site"
)

const password = "bde-Pa55-word"

func specJSON(t *testing.T, version string, slaves int, extra map[string]any) []byte {
	t.Helper()
	s := map[string]any{
		"name": "mesos01", "distro": "mesos", "distroVendor": "MESOS", "distroVersion": version,
		"nodeGroups": []any{
			map[string]any{"name": "master", "roles": []any{"zookeeper", "mesos_master"}, "instanceNum": 3, "haFlag": "on", "storage": map[string]any{"type": "SHARED", "sizeGB": 20}, "configuration": map[string]any{}},
			map[string]any{"name": "slave", "roles": []any{"mesos_slave"}, "instanceNum": slaves, "haFlag": "off", "storage": map[string]any{"type": "SHARED"}, "configuration": map[string]any{}},
		},
		"configuration": map[string]any{"offline": map[string]any{"repo": "http://mgmt/bundle"}},
	}
	for k, v := range extra {
		s[k] = v
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func step(t *testing.T, url, pw string, b []byte, opts clusters.Options) *clusters.Step {
	t.Helper()
	c, err := bde.New(bde.Config{URL: url, Username: "admin", Password: pw, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := clusters.ParseSpec("clusters/mesos01/spec.json", b)
	if err != nil {
		t.Fatal(err)
	}
	st := clusters.New(c, []clusters.Spec{sp}, opts)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

func calls(s *standin.Server, from int) []string {
	var out []string
	for _, c := range s.Calls()[from:] {
		line := c.Method + " " + strings.TrimPrefix(c.Path, "/serengeti")
		if c.Query != "" {
			line += "?" + c.Query
		}
		out = append(out, line)
	}
	return out
}

func writes(s *standin.Server, from int) []string {
	var out []string
	for _, c := range s.Calls()[from:] {
		if c.Write() {
			out = append(out, c.Method+" "+c.Path+" "+string(c.Body))
		}
	}
	return out
}

func actions(changes []site.Change) string {
	var out []string
	for _, c := range changes {
		out = append(out, c.Kind+" "+c.Name+" "+c.Action)
	}
	return strings.Join(out, "; ")
}

// TestCreateThenNothing: a cluster the site lacks is created with the
// bundle's spec as the body; a second deploy plans nothing and writes
// nothing.
func TestCreateThenNothing(t *testing.T) {
	ctx := context.Background()
	srv := standin.New(map[string]string{"admin": password}, nil)
	defer srv.Close()
	b := specJSON(t, "0.22.0", 5, nil)
	st := step(t, srv.BaseURL(), password, b, clusters.Options{})
	plan, err := st.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(plan); got != "cluster mesos01 create" {
		t.Fatalf("plan %s", got)
	}
	if w := writes(srv, 0); len(w) != 0 {
		t.Fatalf("the plan wrote: %v", w)
	}
	var seen []site.Progress
	if err := st.Apply(ctx, plan, func(p site.Progress) { seen = append(seen, p) }); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /j_spring_security_check", "GET /api/clusters", "POST /api/clusters", "GET /api/task/101", "GET /api/task/101"}
	if got := calls(srv, 0); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := srv.Calls()[2]; string(c.Body) != string(b) {
		t.Errorf("the create's body is not the bundle's spec:\n%s", c.Body)
	}
	if len(seen) != 2 || seen[1].Fraction != 1 || seen[0].Change.Name != "mesos01" {
		t.Errorf("progress %+v", seen)
	}
	if srv.ClusterStatus("mesos01") != "RUNNING" {
		t.Errorf("status %s", srv.ClusterStatus("mesos01"))
	}

	// The re-run: a matching site gets no write call.
	n := len(srv.Calls())
	st2 := step(t, srv.BaseURL(), password, b, clusters.Options{})
	plan, err = st2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(plan); got != "cluster mesos01 unchanged; nodegroup mesos01/master unchanged; nodegroup mesos01/slave unchanged" {
		t.Errorf("re-plan %s", got)
	}
	if err := st2.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := st2.Status(ctx)
	if err != nil || !site.Matches(rows) || len(rows) != 3 {
		t.Errorf("status %+v %v", rows, err)
	}
	if w := writes(srv, n); len(w) != 0 {
		t.Errorf("the re-run wrote: %v", w)
	}
}

// TestUpgradeAndResize: a new version and configuration is one config,
// then the growing node group is resized; a shrinking one is refused
// without AllowShrink and resized with it.
func TestUpgradeAndResize(t *testing.T) {
	ctx := context.Background()
	srv := standin.New(map[string]string{"admin": password}, nil)
	defer srv.Close()
	st := step(t, srv.BaseURL(), password, specJSON(t, "0.21.0", 5, nil), clusters.Options{})
	plan, _ := st.Plan(ctx)
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}

	b2 := specJSON(t, "0.22.0", 8, nil)
	st2 := step(t, srv.BaseURL(), password, b2, clusters.Options{})
	plan, err := st2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(plan); got != "cluster mesos01 config; nodegroup mesos01/master unchanged; nodegroup mesos01/slave resize" {
		t.Fatalf("plan %s", got)
	}
	if !strings.Contains(plan[0].Detail, "distro mesos 0.21.0 -> 0.22.0") || !strings.Contains(plan[2].Detail, "5 -> 8 nodes") {
		t.Errorf("details %+v", plan)
	}
	rows, _ := st2.Status(ctx)
	if site.Matches(rows) {
		t.Errorf("status matches before the apply: %+v", rows)
	}
	n := len(srv.Calls())
	if err := st2.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"PUT /serengeti/api/cluster/mesos01/config " + string(b2), "PUT /serengeti/api/cluster/mesos01/nodegroup/slave/instancenum 8"}
	if got := writes(srv, n); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Shrinking needs the flag.
	b3 := specJSON(t, "0.22.0", 4, nil)
	plan, _ = step(t, srv.BaseURL(), password, b3, clusters.Options{}).Plan(ctx)
	if got := actions(plan); got != "cluster mesos01 unchanged; nodegroup mesos01/master unchanged; nodegroup mesos01/slave refused" ||
		!strings.Contains(plan[2].Detail, "--allow-shrink") {
		t.Errorf("shrink plan %s %+v", got, plan)
	}
	n = len(srv.Calls())
	st4 := step(t, srv.BaseURL(), password, b3, clusters.Options{})
	plan, _ = st4.Plan(ctx)
	if err := st4.Apply(ctx, plan, nil); err != nil || len(writes(srv, n)) != 0 {
		t.Errorf("a refused shrink wrote: %v %v", writes(srv, n), err)
	}
	st5 := step(t, srv.BaseURL(), password, b3, clusters.Options{AllowShrink: true})
	plan, _ = st5.Plan(ctx)
	if err := st5.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	if got := writes(srv, n); len(got) != 1 || got[0] != "PUT /serengeti/api/cluster/mesos01/nodegroup/slave/instancenum 4" {
		t.Errorf("shrink writes %v", got)
	}
}

// TestFailedCreateResumes: a create whose task fails is an error; the
// re-run resumes the cluster instead of creating it again (BDE would
// refuse the name).
func TestFailedCreateResumes(t *testing.T) {
	ctx := context.Background()
	srv := standin.New(map[string]string{"admin": password}, nil)
	defer srv.Close()
	b := specJSON(t, "0.22.0", 5, nil)
	srv.SetFail("mesos01", "Cannot clone VM mesos01-slave-4")
	st := step(t, srv.BaseURL(), password, b, clusters.Options{})
	plan, _ := st.Plan(ctx)
	err := st.Apply(ctx, plan, nil)
	var te *bde.TaskError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "mesos01-slave-4") || !strings.Contains(err.Error(), "create of cluster mesos01") {
		t.Fatalf("failed create: %v", err)
	}
	// Creating it again is what BDE refuses.
	c, _ := bde.New(bde.Config{URL: srv.BaseURL(), Username: "admin", Password: password, PollInterval: time.Millisecond})
	_ = c.Login(ctx)
	_, err = c.CreateCluster(ctx, "mesos01", b, nil)
	var api *bde.APIError
	if !errors.As(err, &api) || api.Code != "BDD.ALREADY_EXISTS" {
		t.Errorf("a second create: %v", err)
	}
	st2 := step(t, srv.BaseURL(), password, b, clusters.Options{})
	plan, err = st2.Plan(ctx)
	if err != nil || actions(plan) != "cluster mesos01 resume" {
		t.Fatalf("re-plan %s %v", actions(plan), err)
	}
	if err := st2.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	plan, _ = step(t, srv.BaseURL(), password, b, clusters.Options{}).Plan(ctx)
	if site.Writes(plan) != 0 {
		t.Errorf("after the resume: %s", actions(plan))
	}
}

// TestRefusedByBDE: a spec field ClusterCreate has no property for is a
// 400 that names it.
func TestRefusedByBDE(t *testing.T) {
	ctx := context.Background()
	srv := standin.New(map[string]string{"admin": password}, nil)
	defer srv.Close()
	st := step(t, srv.BaseURL(), password, specJSON(t, "0.22.0", 5, map[string]any{"cluster_configuration": map[string]any{}}), clusters.Options{})
	plan, _ := st.Plan(ctx)
	err := st.Apply(ctx, plan, nil)
	var api *bde.APIError
	if !errors.As(err, &api) || api.Status != 400 || !strings.Contains(api.Message, `"cluster_configuration"`) {
		t.Errorf("unknown field: %v", err)
	}
	if srv.ClusterStatus("mesos01") != "" {
		t.Errorf("a refused create made a cluster")
	}
}

// TestBadSites: a wrong password, a server that is down, one that answers
// garbage and one that never answers are errors of their own kind,
// bounded, and never carry the password.
func TestBadSites(t *testing.T) {
	ctx := context.Background()
	b := specJSON(t, "0.22.0", 5, nil)
	srv := standin.New(map[string]string{"admin": password}, nil)
	defer srv.Close()

	_, err := step(t, srv.BaseURL(), "not-"+password, b, clusters.Options{}).Plan(ctx)
	var ae *site.AuthError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), password) {
		t.Errorf("wrong password: %v", err)
	}

	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "j_spring_security_check") {
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "x"})
			return
		}
		_, _ = w.Write([]byte("<html>It works!</html>"))
	}))
	defer garbage.Close()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "j_spring_security_check") {
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "x"})
			return
		}
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	for _, tc := range []struct{ name, url, want string }{
		{"garbage", garbage.URL, "not BDE's JSON"},
		{"slow", slow.URL, "Timeout"},
		{"down", downURL, "cannot be reached"},
		{"5xx", broken.URL, "HTTP 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := bde.New(bde.Config{URL: tc.url, Username: "admin", Password: password, PollInterval: time.Millisecond,
				HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			sp, _ := clusters.ParseSpec("spec.json", b)
			start := time.Now()
			_, err = clusters.New(c, []clusters.Spec{sp}, clusters.Options{}).Plan(ctx)
			var ue *site.UnavailableError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), password) {
				t.Errorf("error %v, want an UnavailableError with %q", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// TestBusyCluster: a cluster BDE is working on gets no call; Apply makes
// the other changes, then fails so the deploy stops before the apps.
func TestBusyCluster(t *testing.T) {
	ctx := context.Background()
	var spec map[string]any
	b := specJSON(t, "0.22.0", 5, nil)
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	srv := standin.New(map[string]string{"admin": password}, map[string]*standin.Cluster{"mesos01": {Distro: "mesos", Status: "PROVISIONING", Spec: spec}})
	defer srv.Close()
	st := step(t, srv.BaseURL(), password, b, clusters.Options{})
	plan, err := st.Plan(ctx)
	if err != nil || actions(plan) != "cluster mesos01 busy" || site.Writes(plan) != 0 {
		t.Fatalf("plan %s %v", actions(plan), err)
	}
	var be *clusters.BusyError
	if err := st.Apply(ctx, plan, nil); !errors.As(err, &be) || !strings.Contains(err.Error(), "PROVISIONING") {
		t.Errorf("apply: %v", err)
	}
	if w := writes(srv, 0); len(w) != 0 {
		t.Errorf("a busy cluster got writes: %v", w)
	}
}
