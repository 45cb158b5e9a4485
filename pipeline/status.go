package pipeline

import (
	"context"
	"fmt"

	"github.com/bdebundle/bundle/out/clusters"
	"github.com/bdebundle/bundle/out/manifest"
	outsite "github.com/bdebundle/bundle/out/site"
	"github.com/bdebundle/bundle/out/vcenter"
)

// StatusResult is what `bundle status` reports: one row per object of the
// bundle (files, templates, images, clusters and node groups, apps,
// jobs), in deploy order.
type StatusResult struct {
	Bundle  string           `json:"bundle"`
	Version string           `json:"version"`
	Rows    []outsite.Status `json:"rows"`
	// LeftOut names the steps that were not compared, and why.
	LeftOut map[string]string `json:"left_out,omitempty"`
	// Kept is the extracted bundle directory that KeepExtracted kept.
	Kept string `json:"-"`
}

// Matches reports whether every row compared matches.
func (r *StatusResult) Matches() bool { return outsite.Matches(r.Rows) }

// Status compares the site with the bundle at req.Path, changing nothing: it
// is a dry-run deploy whose plan becomes rows (an object the deploy would
// leave as it is matches), with each site step's Status in place of its
// plan. req is read as for Deploy (DryRun is forced).
func Status(ctx context.Context, req DeployRequest) (*StatusResult, error) {
	r := &StatusResult{LeftOut: map[string]string{}}
	req.DryRun = true
	req.OnClusterPlan, req.OnSitePlan, req.Events = nil, nil, nil
	req.OnPlan = func(p *vcenter.DeployPlan) {
		r.Bundle, r.Version = p.Bundle, p.Version
		for _, it := range p.Items {
			if it.Kind == vcenter.KindLibrary || it.Kind == vcenter.KindGuest || it.Action == vcenter.Delete {
				continue
			}
			kind := string(it.Kind)
			if it.Kind == vcenter.KindImages {
				kind = "image"
			}
			have := "matches"
			if it.Action != vcenter.Leave {
				have = fmt.Sprintf("differs (deploy would %s it)", it.Action)
			}
			r.Rows = append(r.Rows, outsite.Status{Kind: kind, Name: it.Name, Want: shortDigest(it.SHA256), Have: have, OK: it.Action == vcenter.Leave})
		}
	}
	req.status = r
	res, err := Deploy(ctx, req)
	if res != nil {
		r.Kept = res.Kept
	}
	if err != nil {
		return r, err
	}
	outsite.SortStatus(r.Rows)
	return r, nil
}

func shortDigest(s string) string {
	if len(s) > 12 {
		return "sha256:" + s[:12]
	}
	return s
}

// statusSites adds the rows of the site steps to r (Deploy calls it in
// place of planning them).
func statusSites(ctx context.Context, dir string, m *manifest.Manifest, cp *ClusterConfigPlan, steps []SiteStep, r *StatusResult) error {
	switch {
	case cp == nil || len(m.Clusters) == 0:
	case cp.LeftOut != "":
		r.LeftOut["clusters"] = cp.LeftOut
	default:
		specs, err := clusters.LoadSpecs(dir, m)
		if err != nil {
			return err
		}
		cp.step.SetSpecs(specs)
		rows, err := cp.step.Status(ctx)
		if err != nil {
			return &ClusterConfigError{Cluster: cp.Server, Err: err}
		}
		r.Rows = append(r.Rows, rows...)
	}
	for _, st := range steps {
		if st.Skip {
			r.LeftOut[st.Name] = st.SkipReason
			continue
		}
		built, leftOut, err := st.Build(dir, m)
		if err != nil {
			return &UsageError{fmt.Errorf("%s step: %w", st.Name, err)}
		}
		if leftOut != "" {
			r.LeftOut[st.Name] = leftOut
			continue
		}
		for _, s := range built {
			rows, err := s.Status(ctx)
			if err != nil {
				return &SiteStepError{Step: st.Name, Err: err}
			}
			r.Rows = append(r.Rows, rows...)
		}
	}
	return nil
}
