package clusters_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
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
		"configuration": map[string]any{"offline": map[string]any{"repo": "http://mgmt/bundle/" + version}},
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

// newBDE is a stand-in whose distro mesos is 0.22.0.
func newBDE(t *testing.T) *standin.Server {
	t.Helper()
	srv := standin.New(map[string]string{"admin": password}, nil)
	srv.SetDistro("mesos", "MESOS", "0.22.0")
	t.Cleanup(srv.Close)
	return srv
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
	srv := newBDE(t)
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
// then the growing node group is resized; BDE keeps the version the
// cluster was created with, so the re-run compares the configuration and
// writes nothing. A shrinking node group is refused without AllowShrink
// and resized with it.
func TestUpgradeAndResize(t *testing.T) {
	ctx := context.Background()
	srv := newBDE(t)
	srv.SetDistro("mesos", "MESOS", "0.21.0")
	st := step(t, srv.BaseURL(), password, specJSON(t, "0.21.0", 5, nil), clusters.Options{})
	plan, _ := st.Plan(ctx)
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	srv.SetDistro("mesos", "MESOS", "0.22.0") // release 2's manifest

	b2 := specJSON(t, "0.22.0", 8, nil)
	st2 := step(t, srv.BaseURL(), password, b2, clusters.Options{})
	plan, err := st2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(plan); got != "cluster mesos01 config; nodegroup mesos01/master unchanged; nodegroup mesos01/slave resize" {
		t.Fatalf("plan %s", got)
	}
	if !strings.Contains(plan[0].Detail, "cluster configuration differs; the bundle's distro mesos 0.22.0") || !strings.Contains(plan[2].Detail, "5 -> 8 nodes") {
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
	if v := srv.ClusterDistroVersion("mesos01"); v != "0.21.0" {
		t.Errorf("the config moved BDE's distro version to %s", v)
	}
	// The re-run of release 2 against the site it made: nothing to write.
	n = len(srv.Calls())
	st3 := step(t, srv.BaseURL(), password, b2, clusters.Options{})
	plan, err = st3.Plan(ctx)
	if err != nil || site.Writes(plan) != 0 {
		t.Fatalf("re-run plan %s %v", actions(plan), err)
	}
	if rows, err := st3.Status(ctx); err != nil || !site.Matches(rows) {
		t.Errorf("status after the apply: %+v %v", rows, err)
	}
	if err := st3.Apply(ctx, plan, nil); err != nil || len(writes(srv, n)) != 0 {
		t.Errorf("the re-run wrote %v %v", writes(srv, n), err)
	}
	// A bundle whose version differs but whose configuration does not has
	// nothing to configure: a config could not move the version.
	same := map[string]any{"configuration": map[string]any{"offline": map[string]any{"repo": "http://mgmt/bundle/0.22.0"}}}
	plan, _ = step(t, srv.BaseURL(), password, specJSON(t, "0.23.0", 8, same), clusters.Options{}).Plan(ctx)
	if site.Writes(plan) != 0 {
		t.Errorf("a version-only change plans %s", actions(plan))
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
	srv := newBDE(t)
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

// TestRefusedByBDE: a spec field ClusterCreate has no property for is
// refused: 2.2.0 answers 400 naming it, 2.3.1 a bare 500
// BDD.INTERNAL_ERROR (reported as BDE unavailable: it is not told apart
// from any other fault of BDE's). Nothing is created.
func TestRefusedByBDE(t *testing.T) {
	ctx := context.Background()
	for _, version := range []string{"2.2.0", "2.3.1"} {
		srv := newBDE(t)
		srv.Version = version
		st := step(t, srv.BaseURL(), password, specJSON(t, "0.22.0", 5, map[string]any{"cluster_configuration": map[string]any{}}), clusters.Options{})
		plan, _ := st.Plan(ctx)
		err := st.Apply(ctx, plan, nil)
		var api *bde.APIError
		var ue *site.UnavailableError
		switch {
		case !errors.As(err, &api):
			t.Errorf("%s: unknown field: %v", version, err)
		case version == "2.2.0" && (api.Status != 400 || !strings.Contains(api.Message, `"cluster_configuration"`) || errors.As(err, &ue)):
			t.Errorf("%s: unknown field: %v", version, err)
		case version == "2.3.1" && (api.Status != 500 || api.Code != "BDD.INTERNAL_ERROR" || !errors.As(err, &ue)):
			t.Errorf("%s: unknown field: %v", version, err)
		}
		if srv.ClusterStatus("mesos01") != "" {
			t.Errorf("%s: a refused create made a cluster", version)
		}
	}
}

// TestBadSites: a wrong password, a server that is down, one that answers
// garbage and one that never answers are errors of their own kind,
// bounded, and never carry the password.
func TestBadSites(t *testing.T) {
	ctx := context.Background()
	b := specJSON(t, "0.22.0", 5, nil)
	srv := newBDE(t)

	_, err := step(t, srv.BaseURL(), "not-"+password, b, clusters.Options{}).Plan(ctx)
	var ae *site.AuthError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), password) {
		t.Errorf("wrong password: %v", err)
	}

	// answering is a server that logs in and answers every other call
	// with body.
	answering := func(body string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "j_spring_security_check") {
				http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "x"})
				return
			}
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(s.Close)
		return s
	}
	garbage := answering("<html>It works!</html>")
	// A list of clusters that is an object, and one larger than the
	// client reads (a JSON array that would be empty if read whole).
	shape := answering(`{"clusters": 1}`)
	huge := answering("[" + strings.Repeat(" ", 16<<20) + "]")
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

	short := 200 * time.Millisecond
	for _, tc := range []struct {
		name, url, want string
		timeout         time.Duration // the huge answer's fault is its size, not the clock
	}{
		{"garbage", garbage.URL, "not BDE's JSON", short},
		{"wrong shape", shape.URL, "not BDE's JSON", short},
		{"huge", huge.URL, "not BDE's JSON", 30 * time.Second},
		{"slow", slow.URL, "Timeout", short},
		{"down", downURL, "cannot be reached", short},
		{"5xx", broken.URL, "HTTP 503", short},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := bde.New(bde.Config{URL: tc.url, Username: "admin", Password: password, PollInterval: time.Millisecond,
				HTTPClient: &http.Client{Timeout: tc.timeout}})
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
			if d := time.Since(start); d > tc.timeout+5*time.Second {
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

// TestStatuses: what the plan does per ClusterStatus (apitypes/
// ClusterStatus.java @2.3.1): every status that is not stable is busy;
// BDE configures only a RUNNING, SERVICE_WARNING, SERVICE_STOPPED or
// CONFIGURE_ERROR cluster and resizes only a RUNNING or SERVICE_WARNING
// one, so other writes are refused in the plan, not sent.
func TestStatuses(t *testing.T) {
	ctx := context.Background()
	var have map[string]any
	if err := json.Unmarshal(specJSON(t, "0.22.0", 5, nil), &have); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status  string
		version string // the bundle's configuration moves with it
		slaves  int
		want    string
	}{
		{"EXPANDING", "0.22.0", 5, "cluster mesos01 busy"},
		{"VHM_RUNNING", "0.22.0", 5, "cluster mesos01 busy"},
		{"VMRECONFIGURING", "0.22.0", 5, "cluster mesos01 busy"},
		{"STOPPED", "0.22.1", 5, "cluster mesos01 refused"},
		{"STOPPED", "0.22.0", 6, "cluster mesos01 unchanged; nodegroup mesos01/master unchanged; nodegroup mesos01/slave refused"},
		{"SERVICE_STOPPED", "0.22.0", 6, "cluster mesos01 unchanged; nodegroup mesos01/master unchanged; nodegroup mesos01/slave refused"},
		{"SERVICE_STOPPED", "0.22.1", 6, "cluster mesos01 config; nodegroup mesos01/master unchanged; nodegroup mesos01/slave resize"},
		{"SERVICE_WARNING", "0.22.0", 6, "cluster mesos01 unchanged; nodegroup mesos01/master unchanged; nodegroup mesos01/slave resize"},
	} {
		t.Run(tc.status+"/"+tc.version+"/"+strconv.Itoa(tc.slaves), func(t *testing.T) {
			srv := standin.New(map[string]string{"admin": password}, map[string]*standin.Cluster{"mesos01": {Distro: "mesos", Status: tc.status, Spec: clone(t, have)}})
			defer srv.Close()
			b := specJSON(t, tc.version, tc.slaves, nil)
			st := step(t, srv.BaseURL(), password, b, clusters.Options{})
			plan, err := st.Plan(ctx)
			if err != nil || actions(plan) != tc.want {
				t.Fatalf("plan %s %v, want %s", actions(plan), err, tc.want)
			}
			err = st.Apply(ctx, plan, nil)
			if strings.Contains(tc.want, "busy") != (err != nil) {
				t.Errorf("apply: %v", err)
			}
		})
	}
}

// TestRefusalIs500: BDE answers a refusal whose error id has no status of
// its own 500 with that id (CLUSTER.UPDATE_NOT_ALLOWED): a refusal (exit
// 1), not an unavailable BDE.
func TestRefusalIs500(t *testing.T) {
	ctx := context.Background()
	srv := newBDE(t)
	st := step(t, srv.BaseURL(), password, specJSON(t, "0.22.0", 5, nil), clusters.Options{})
	plan, _ := st.Plan(ctx)
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	// The plan saw a RUNNING cluster; BDE started a task on it since.
	b := specJSON(t, "0.22.1", 5, nil)
	st2 := step(t, srv.BaseURL(), password, b, clusters.Options{})
	plan, _ = st2.Plan(ctx)
	srv.SetStatus("mesos01", "STOPPING")
	err := st2.Apply(ctx, plan, nil)
	var api *bde.APIError
	var ue *site.UnavailableError
	if !errors.As(err, &api) || api.Status != 500 || api.Code != "CLUSTER.UPDATE_NOT_ALLOWED" || errors.As(err, &ue) {
		t.Errorf("config of a stopping cluster: %v", err)
	}
}

func clone(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(m)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
