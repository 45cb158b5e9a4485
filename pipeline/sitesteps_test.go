package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/manifest"
	outsite "github.com/bdebundle/bundle/out/site"
)

// fakeApps is a site whose apps are in have; the bundle wants want.
type fakeApps struct {
	want, have map[string]string
	down       bool
	writes     []string
}

func (f *fakeApps) Name() string { return "apps" }
func (f *fakeApps) Plan(context.Context) ([]outsite.Change, error) {
	if f.down {
		return nil, &outsite.UnavailableError{Service: "Marathon", URL: "http://127.0.0.1:1", Err: errors.New("connection refused")}
	}
	var out []outsite.Change
	for _, id := range []string{"/a", "/b"} {
		switch {
		case f.have[id] == "":
			out = append(out, outsite.Change{Kind: "app", Name: id, Action: outsite.ActionCreate})
		case f.have[id] != f.want[id]:
			out = append(out, outsite.Change{Kind: "app", Name: id, Action: outsite.ActionUpdate})
		default:
			out = append(out, outsite.Change{Kind: "app", Name: id, Action: outsite.ActionUnchanged})
		}
	}
	return out, nil
}
func (f *fakeApps) Apply(_ context.Context, changes []outsite.Change, _ func(outsite.Progress)) error {
	for _, c := range changes {
		if c.Writes() {
			f.writes = append(f.writes, c.Action+" "+c.Name)
			f.have[c.Name] = f.want[c.Name]
		}
	}
	return nil
}
func (f *fakeApps) Status(context.Context) ([]outsite.Status, error) { return nil, nil }

// TestSiteStepsResume: a step whose API is down fails a dry run at once;
// a deploy goes on to fail the step after the upload; the re-run plans
// again and makes only the writes left, and a third makes none.
func TestSiteStepsResume(t *testing.T) {
	ctx := context.Background()
	f := &fakeApps{want: map[string]string{"/a": "1", "/b": "2"}, have: map[string]string{"/a": "1"}, down: true}
	steps := []SiteStep{{Name: "apps", Build: func(string, *manifest.Manifest) ([]outsite.Step, string, error) {
		return []outsite.Step{f}, "", nil
	}}}
	m := &manifest.Manifest{}
	if _, err := planSiteSteps(ctx, "", m, steps, true); !errors.As(err, new(*outsite.UnavailableError)) {
		t.Fatalf("dry run against a site that is down: %v", err)
	}
	plans, err := planSiteSteps(ctx, "", m, steps, false)
	if err != nil || plans[0].Unread == "" {
		t.Fatalf("plan %+v %v", plans, err)
	}
	var sse *SiteStepError
	if _, err := runSiteSteps(ctx, plans, steps); !errors.As(err, &sse) || !strings.Contains(err.Error(), "run deploy again") {
		t.Fatalf("run against a site that is down: %v", err)
	}
	f.down = false
	plans, _ = planSiteSteps(ctx, "", m, steps, false)
	if plans[0].Planned() != 1 {
		t.Fatalf("re-plan %+v", plans[0].Changes)
	}
	done, err := runSiteSteps(ctx, plans, steps)
	if err != nil || strings.Join(done, ",") != "/b" || strings.Join(f.writes, ",") != "create /b" {
		t.Fatalf("re-run: %v %v %v", done, f.writes, err)
	}
	plans, _ = planSiteSteps(ctx, "", m, steps, false)
	if done, err := runSiteSteps(ctx, plans, steps); err != nil || len(done) != 0 || len(f.writes) != 1 {
		t.Errorf("a matching site: %v %v %v", done, f.writes, err)
	}
	// Skipped: neither built nor planned.
	steps[0].Skip, steps[0].SkipReason = true, "--skip-apps"
	plans, _ = planSiteSteps(ctx, "", m, steps, false)
	if plans[0].LeftOut != "--skip-apps" {
		t.Errorf("skipped: %+v", plans[0])
	}
}
