package sitetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/out/internal/callrec"
	"github.com/bdebundle/bundle/out/internal/siteapi"
	"github.com/bdebundle/bundle/out/site"
)

// Actions renders a plan as "name action, …".
func Actions(cs []site.Change) string {
	var b []string
	for _, c := range cs {
		b = append(b, c.Name+" "+c.Action)
	}
	return strings.Join(b, ", ")
}

// Calls renders recorded calls one a line ("PUT /v2/apps/web?force=true").
func Calls(cs []callrec.Call) string {
	var b []string
	for _, c := range cs {
		b = append(b, c.String())
	}
	return strings.Join(b, "\n")
}

// BadSite is a site API that fails, what the error must say, and the
// client timeout to give the step: Timeout, except for the huge answer,
// whose fault is its size however long reading it takes (a loaded
// machine under the race detector may need more than Timeout for 8 MiB).
type BadSite struct {
	Name, URL, Want string
	Timeout         time.Duration
}

// BadSites starts, for the test's length, an API that answers garbage
// (the body given, with status 200), one whose answer is larger than
// siteapi.MaxAnswer, one slower than Timeout, and one that is down. api
// names the API as the error does ("Marathon").
func BadSites(t *testing.T, api, garbage string) []BadSite {
	t.Helper()
	g := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(garbage))
	}))
	t.Cleanup(g.Close)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("["))
		_, _ = w.Write([]byte(strings.Repeat(" ", siteapi.MaxAnswer)))
		_, _ = w.Write([]byte("]"))
	}))
	t.Cleanup(huge.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	return []BadSite{
		{"garbage", g.URL, "not " + api + "'s JSON", Timeout},
		{"huge", huge.URL, "is larger than 8 MiB", HugeTimeout},
		{"slow", slow.URL, "Timeout", Timeout},
		{"down", down.URL, "refused", Timeout},
	}
}

// Timeout is the client timeout a test of BadSites gives its step.
const Timeout = 200 * time.Millisecond

// HugeTimeout is the client timeout for an answer over the size cap: long
// enough that the cap, not the clock, ends the read.
const HugeTimeout = 30 * time.Second

// Planner is a site step (out/marathon.Step, out/chronos.Step).
type Planner interface {
	Plan(ctx context.Context) ([]site.Change, error)
}

// Recorder is a stand-in's record of calls.
type Recorder interface {
	Writes() []callrec.Call
	Reset()
}

// Plan plans with p, fails the test unless the plan's actions are want
// (as Actions renders them) and planning wrote nothing to rec, then
// forgets rec's calls so that the test sees only what Apply sends.
func Plan(ctx context.Context, t *testing.T, p Planner, rec Recorder, want string) []site.Change {
	t.Helper()
	plan, err := p.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := Actions(plan); got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if w := rec.Writes(); len(w) != 0 {
		t.Fatalf("Plan wrote: %v", w)
	}
	rec.Reset()
	return plan
}

// Rerun is a re-run of step against a site that matches the bundle: it
// plans want (every object "unchanged"), and fails the test if planning
// or applying that plan writes anything to rec or a status row is not
// OK. It returns the status rows.
func Rerun(ctx context.Context, t *testing.T, step site.Step, rec Recorder, want string) []site.Status {
	t.Helper()
	rec.Reset()
	plan := Plan(ctx, t, step, rec, want)
	if err := step.Apply(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	if w := rec.Writes(); len(w) != 0 {
		t.Fatalf("re-run wrote: %v", w)
	}
	rows, err := step.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !r.OK {
			t.Errorf("status %+v, want OK", r)
		}
	}
	return rows
}
