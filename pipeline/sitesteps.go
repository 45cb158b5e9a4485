package pipeline

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bdebundle/bundle/out/manifest"
	outsite "github.com/bdebundle/bundle/out/site"
)

// SiteStep is a site step that runs after the clusters (apps through
// Marathon, jobs through Chronos), in the order given: files → templates →
// images → clusters → apps → jobs.
type SiteStep struct {
	// Name is "apps" or "jobs".
	Name string
	// Skip leaves the step out; SkipReason says why (the flag).
	Skip       bool
	SkipReason string
	// Build returns the step's site.Steps for the verified bundle in dir
	// (one per cluster, say); none when the bundle has nothing for it or no
	// endpoint is given (then LeftOut says so).
	Build func(dir string, m *manifest.Manifest) (steps []outsite.Step, leftOut string, err error)
	// Progress sees the step's waits.
	Progress func(outsite.Progress)
}

// SitePlan is the plan of one SiteStep.
type SitePlan struct {
	Step    string           `json:"step"`
	Changes []outsite.Change `json:"changes"`
	// LeftOut says why the step will not run ("" when it will).
	LeftOut string `json:"left_out,omitempty"`
	// Unread is why the site could not be read for the plan.
	Unread string `json:"unread,omitempty"`

	steps   []outsite.Step
	changes [][]outsite.Change
	readErr error
}

// Planned counts the writes of the step.
func (p *SitePlan) Planned() int { return outsite.Writes(p.Changes) }

// SiteStepError is a site step that failed after the upload and the
// clusters: a re-run finishes it.
type SiteStepError struct {
	Step string
	Err  error
}

func (e *SiteStepError) Error() string {
	return fmt.Sprintf("%s step: %v (the bundle is deployed; run deploy again to finish: what is done is not done again)", e.Step, e.Err)
}
func (e *SiteStepError) Unwrap() error { return e.Err }

// planSiteSteps builds and plans every step; a site that cannot be read
// is an error in a dry run, else kept for the step to fail after the
// upload.
func planSiteSteps(ctx context.Context, dir string, m *manifest.Manifest, steps []SiteStep, dryRun bool) ([]*SitePlan, error) {
	var out []*SitePlan
	for _, st := range steps {
		p := &SitePlan{Step: st.Name, Changes: []outsite.Change{}}
		out = append(out, p)
		if st.Skip {
			p.LeftOut = st.SkipReason
			continue
		}
		built, leftOut, err := st.Build(dir, m)
		if err != nil {
			return out, &UsageError{fmt.Errorf("%s step: %w", st.Name, err)}
		}
		p.LeftOut, p.steps = leftOut, built
		if leftOut != "" {
			continue
		}
		for _, s := range built {
			changes, err := s.Plan(ctx)
			if err != nil {
				if dryRun || ctx.Err() != nil {
					return out, &SiteStepError{Step: st.Name, Err: err}
				}
				p.readErr, p.Unread = err, err.Error()
				break
			}
			p.changes = append(p.changes, changes)
			p.Changes = append(p.Changes, changes...)
		}
	}
	return out, nil
}

// runSiteSteps applies the planned changes of each step in order and
// returns the names changed; it stops at the first failure.
func runSiteSteps(ctx context.Context, plans []*SitePlan, steps []SiteStep) (done []string, err error) {
	for i, p := range plans {
		if p.LeftOut != "" {
			continue
		}
		if p.readErr != nil {
			return done, &SiteStepError{Step: p.Step, Err: p.readErr}
		}
		for j, s := range p.steps {
			if j >= len(p.changes) || outsite.Writes(p.changes[j]) == 0 {
				continue
			}
			slog.Info("site step", "step", p.Step, "changes", outsite.Writes(p.changes[j]))
			if err := s.Apply(ctx, p.changes[j], steps[i].Progress); err != nil {
				return done, &SiteStepError{Step: p.Step, Err: err}
			}
			for _, c := range p.changes[j] {
				if c.Writes() {
					done = append(done, c.Name)
				}
			}
		}
	}
	return done, nil
}
