package chronos

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/chronos/standin"
	"github.com/bdebundle/bundle/out/internal/siteapi"
	"github.com/bdebundle/bundle/out/internal/sitetest"
	"github.com/bdebundle/bundle/out/site"
)

const (
	backup  = `{"name":"backup","command":"/usr/local/bin/backup","schedule":"R/2015-03-01T02:00:00Z/P1D","owner":"ops@example.com","cpus":0.5,"mem":256,"disk":512,"container":{"type":"DOCKER","image":"registry.site:5000/tools@sha256:ab","network":"BRIDGE"}}`
	verify  = `{"name":"verify","command":"/usr/local/bin/verify","parents":["backup"],"owner":"ops@example.com","cpus":0.1,"mem":64,"disk":64}`
	report  = `{"name":"report","command":"report","parents":["verify"],"owner":"ops@example.com","cpus":0.1,"mem":64,"disk":64}`
	cleanup = `{"name":"cleanup","command":"cleanup","schedule":"R10/2015-03-01T03:00:00Z/PT12H","owner":"ops@example.com","cpus":0.1,"mem":64,"disk":64}`
)

func step(t *testing.T, url string, jobs ...string) *Step {
	t.Helper()
	var js []Job
	for _, j := range jobs {
		js = append(js, Job{File: "chronos/x.json", Definition: []byte(j)})
	}
	s, err := New(Config{URL: url}, js)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCreateInOrderThenRerunWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	// Given children first: the step still posts parents first.
	st := step(t, s.URL, report, verify, cleanup, backup)
	plan := sitetest.Plan(ctx, t, st, s, "backup create, cleanup create, verify create, report create")
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"POST /scheduler/iso8601", "POST /scheduler/iso8601",
		"POST /scheduler/dependency", "POST /scheduler/dependency",
		"GET /scheduler/jobs",
	}, "\n")
	if got := sitetest.Calls(s.Calls()); got != want {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, want)
	}
	var first map[string]any
	if err := json.Unmarshal(s.Writes()[0].Body, &first); err != nil || first["name"] != "backup" || first["schedule"] != "R/2015-03-01T02:00:00Z/P1D" {
		t.Fatalf("first POST body %s (%v)", s.Writes()[0].Body, err)
	}
	// Chronos moved the schedule on as the job ran: still the bundle's.
	s.Set("backup", "schedule", "R/2015-03-04T02:00:00.000Z/P1D")
	s.Set("cleanup", "schedule", "R7/2015-03-02T15:00:00.000Z/PT12H")
	s.Set("backup", "successCount", 3)
	sitetest.Rerun(ctx, t, st, s, "backup unchanged, cleanup unchanged, verify unchanged, report unchanged")
}

func TestUpdateOnlyChangedNeverRun(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, job, diff string }{
		{"command", strings.Replace(verify, "/usr/local/bin/verify", "/usr/local/bin/verify --deep", 1), "command"},
		{"schedule period", strings.Replace(backup, "P1D", "PT6H", 1), "schedule"},
		{"later start", strings.Replace(backup, "2015-03-01", "2015-04-01", 1), "schedule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := standin.New()
			defer s.Close()
			base := step(t, s.URL, backup, verify)
			plan, _ := base.Plan(ctx)
			if err := base.Apply(ctx, plan, nil); err != nil {
				t.Fatal(err)
			}
			jobs := []string{backup, verify}
			if strings.Contains(tc.job, `"verify"`) {
				jobs[1] = tc.job
			} else {
				jobs[0] = tc.job
			}
			st := step(t, s.URL, jobs...)
			s.Reset()
			plan, err := st.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range plan {
				if c.Action == "update" {
					n++
					if !strings.Contains(c.Detail, tc.diff) {
						t.Errorf("detail %q does not name %s", c.Detail, tc.diff)
					}
				}
			}
			if n != 1 {
				t.Fatalf("plan %s: want one update", sitetest.Actions(plan))
			}
			if err := st.Apply(ctx, plan, nil); err != nil {
				t.Fatal(err)
			}
			w := s.Writes()
			if len(w) != 1 || w[0].Method != http.MethodPost {
				t.Fatalf("writes %v (a PUT would run the job)", w)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		jobs []string
		want string
	}{
		{"cycle", []string{`{"name":"a","command":"x","parents":["b"]}`, `{"name":"b","command":"x","parents":["a"]}`}, "cycle"},
		{"bad schedule", []string{`{"name":"a","command":"x","schedule":"0 2 * * *"}`}, "ISO 8601"},
		{"both", []string{`{"name":"a","command":"x","schedule":"R/2015-03-01T02:00:00Z/P1D","parents":["b"]}`}, "both"},
		{"neither", []string{`{"name":"a","command":"x"}`}, "neither"},
		{"twice", []string{backup, backup}, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var js []Job
			for _, j := range tc.jobs {
				js = append(js, Job{File: "chronos/a.json", Definition: []byte(j)})
			}
			_, err := New(Config{URL: "127.0.0.1"}, js)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestStandinRefuses(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	for _, tc := range []struct{ name, job, want string }{
		{"unknown parent", verify, "500"},
		{"bad name", `{"name":"a/b","command":"x","schedule":"R/2015-03-01T02:00:00Z/P1D"}`, "job's name is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := step(t, s.URL, tc.job)
			plan, err := st.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = st.Apply(ctx, plan, nil)
			var ae *siteapi.APIError
			if !errors.As(err, &ae) || ae.Status < 400 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
}

func TestBadSite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range sitetest.BadSites(t, "Chronos", `{"jobs":`) {
		t.Run(tc.Name, func(t *testing.T) {
			st, err := New(Config{URL: tc.URL, HTTPClient: &http.Client{Timeout: tc.Timeout}}, []Job{{Definition: []byte(backup)}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Plan(ctx)
			var ue *site.UnavailableError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.Want) {
				t.Fatalf("err = %v, want an UnavailableError saying %q", err, tc.Want)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	s := standin.New()
	defer s.Close()
	s.Credentials = "ops:s3cret-pw"
	st, err := New(Config{URL: s.URL, Username: "ops", Password: "wrong-pw"}, []Job{{Definition: []byte(backup)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Plan(context.Background())
	var ae *site.AuthError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("err = %v, want an AuthError without the password", err)
	}
}

func TestContainerEnumsInAnyCase(t *testing.T) {
	ctx := context.Background()
	s := standin.New()
	defer s.Close()
	st := step(t, s.URL, backup)
	plan, _ := st.Plan(ctx)
	if err := st.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	s.Set("backup", "container", map[string]any{"type": "docker", "image": "registry.site:5000/tools@sha256:ab", "network": "bridge", "volumes": []any{}})
	plan, _ = st.Plan(ctx)
	if got := sitetest.Actions(plan); got != "backup unchanged" {
		t.Fatalf("plan %s", got)
	}
	s.Set("backup", "container", map[string]any{"type": "docker", "image": "other", "network": "bridge"})
	plan, _ = st.Plan(ctx)
	if got := sitetest.Actions(plan); got != "backup update" || !strings.Contains(plan[0].Detail, "container.image") {
		t.Fatalf("plan %s %q", got, plan[0].Detail)
	}
}
