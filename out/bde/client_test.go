package bde_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/bde"
	"github.com/bdebundle/bundle/out/bde/standin"
)

const spec = `{"name":"mesos01","distro":"mesos","distroVendor":"MESOS","distroVersion":"0.22.0","nodeGroups":[]}`

func newStandin(t *testing.T) *standin.Server {
	t.Helper()
	s := standin.New(map[string]string{"admin": "s3cret-pw"}, map[string]*standin.Cluster{"mesos01": {Distro: "mesos", DistroVendor: "MESOS", DistroVersion: "0.21.0"}})
	s.SetDistro("mesos", "MESOS", "0.22.0")
	t.Cleanup(s.Close)
	return s
}

func client(t *testing.T, url, user, pw string) *bde.Client {
	t.Helper()
	c, err := bde.New(bde.Config{URL: url, Username: user, Password: pw, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigCluster(t *testing.T) {
	s := newStandin(t)
	c := client(t, s.BaseURL(), "admin", "s3cret-pw")
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	var seen []string
	task, err := c.ConfigCluster(ctx, "mesos01", []byte(spec), func(t bde.Task) { seen = append(seen, t.Status) })
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != bde.TaskCompleted || strings.Join(seen, ",") != "STARTED,COMPLETED" {
		t.Errorf("task %+v, polls %v", task, seen)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, call := range s.Calls() {
		got = append(got, call.Method+" "+call.Path+" "+itoa(call.Status))
	}
	want := []string{
		"POST /serengeti/j_spring_security_check 200",
		"PUT /serengeti/api/cluster/mesos01/config 202",
		"GET /serengeti/api/task/101 200",
		"GET /serengeti/api/task/101 200",
		"POST /serengeti/j_spring_security_logout 200",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.ClusterStatus("mesos01") != "RUNNING" {
		t.Errorf("cluster status %s", s.ClusterStatus("mesos01"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRefusals: what BDE refuses, the stand-in refuses, and the client
// reports each as its own error without the password.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	s := newStandin(t)

	// A wrong password: 401 on the login.
	err := client(t, s.BaseURL(), "admin", "wrong-password-42").Login(ctx)
	var ae *bde.AuthError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), "wrong-password-42") {
		t.Errorf("wrong password: %v", err)
	}

	// No session: 401 on the API.
	_, err = client(t, s.BaseURL(), "admin", "s3cret-pw").ConfigCluster(ctx, "mesos01", []byte(spec), nil)
	if !errors.As(err, &ae) {
		t.Errorf("no session: %v", err)
	}

	c := client(t, s.BaseURL(), "admin", "s3cret-pw")
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	// An unknown cluster: 404 BDD.NOT_FOUND.
	_, err = c.ConfigCluster(ctx, "mesos02", []byte(strings.Replace(spec, "mesos01", "mesos02", 1)), nil)
	var api *bde.APIError
	if !errors.As(err, &api) || api.Status != 404 || api.Code != "BDD.NOT_FOUND" {
		t.Errorf("unknown cluster: %v", err)
	}
	// Another distro and version than the cluster was created on: BDE
	// puts the cluster's back into the body (updateAppConfig), so the
	// config runs and moves neither.
	_, err = c.ConfigCluster(ctx, "mesos01", []byte(strings.Replace(strings.Replace(spec, `"distro":"mesos"`, `"distro":"mesos-next"`, 1), "0.22.0", "0.23.0", 1)), nil)
	if err != nil || s.ClusterDistroVersion("mesos01") != "0.21.0" {
		t.Errorf("config with another distro: %v, version %s", err, s.ClusterDistroVersion("mesos01"))
	}
	if one, err := c.Cluster(ctx, "mesos01"); err != nil || one.Distro != "mesos" {
		t.Errorf("distro after the config: %+v %v", one, err)
	}
	// A task that fails: its errorMessage, and the cluster in
	// CONFIGURE_ERROR, which a second config may retry.
	s.SetFail("mesos01", "Bootstrap failed on node mesos01-bulk-3")
	_, err = c.ConfigCluster(ctx, "mesos01", []byte(spec), nil)
	var te *bde.TaskError
	if !errors.As(err, &te) || te.Task.Status != bde.TaskFailed || !strings.Contains(err.Error(), "mesos01-bulk-3") {
		t.Errorf("failed task: %v", err)
	}
	if s.ClusterStatus("mesos01") != "CONFIGURE_ERROR" {
		t.Errorf("status after a failure: %s", s.ClusterStatus("mesos01"))
	}
	if _, err := c.ConfigCluster(ctx, "mesos01", []byte(spec), nil); err != nil {
		t.Errorf("retry after a failure: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = client(t, "http://"+addr, "admin", "pw-not-shown").Login(context.Background())
	var ue *bde.UnreachableError
	if !errors.As(err, &ue) || strings.Contains(err.Error(), "pw-not-shown") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "bde.localdomain", want: "https://bde.localdomain:8443/serengeti"},
		{in: "https://bde.localdomain:8443/serengeti/", want: "https://bde.localdomain:8443/serengeti"},
		{in: "https://10.0.0.5", want: "https://10.0.0.5:8443/serengeti"},
		{in: "http://127.0.0.1:9000", want: "http://127.0.0.1:9000/serengeti"},
		{in: "http://bde.localdomain", err: "only a loopback host"},
		{in: "https://admin:pw@bde", err: "must not carry credentials"},
		{in: "https://admin:s3cret@bde host/serengeti", err: `"https://bde host/serengeti" is not a host or URL`},
		{in: "ftp://bde", err: "must be https"},
		{in: "", err: "no BDE server"},
	} {
		u, err := bde.ParseURL(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || u.String() != tc.want):
			t.Errorf("%q: %v %v, want %s", tc.in, u, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%q: the error carries the password: %v", tc.in, err)
		}
	}
}

func TestInterruptedWait(t *testing.T) {
	s := newStandin(t)
	s.Polls = 1 << 30
	c, err := bde.New(bde.Config{URL: s.BaseURL(), Username: "admin", Password: "s3cret-pw", PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfigCluster(ctx, "mesos01", []byte(spec), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("interrupted wait: %v", err)
	}
}

// TestTaskGarbage: a 202 without a task's Location, and a task that is
// not BDE's TaskRead, are *APIErrors marked as garbage (a server fault,
// which the CLI exits 3 for), never a panic or a wait without end.
func TestTaskGarbage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, location, task, want string }{
		{"no location", "", "", "no Location of a task"},
		{"not a task", "/serengeti/api/cluster/mesos01", "", "is not a task"},
		{"task not JSON", "/serengeti/api/task/7", "<html>It works!</html>", "the task does not parse"},
		{"task of the wrong shape", "/serengeti/api/task/7", `{"id": "seven", "status": 1}`, "the task does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/j_spring_security_check"):
					http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "x"})
				case r.Method == http.MethodPut:
					if tc.location != "" {
						w.Header().Set("Location", tc.location)
					}
					w.WriteHeader(http.StatusAccepted)
				default:
					_, _ = w.Write([]byte(tc.task))
				}
			}))
			defer srv.Close()
			c := client(t, srv.URL, "admin", "s3cret-pw")
			if err := c.Login(ctx); err != nil {
				t.Fatal(err)
			}
			_, err := c.ConfigCluster(ctx, "mesos01", []byte(spec), nil)
			var api *bde.APIError
			if !errors.As(err, &api) || !api.ServerFault() || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error %v, want a server fault saying %q", err, tc.want)
			}
		})
	}
}
