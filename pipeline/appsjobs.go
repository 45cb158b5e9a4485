package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bdebundle/bundle/out/chronos"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/marathon"
	outsite "github.com/bdebundle/bundle/out/site"
)

// AppsJobsOptions set up the apps step (Marathon) and the jobs step
// (Chronos) of a deploy or a status.
type AppsJobsOptions struct {
	// Getenv reads MARATHON_URL, MARATHON_USERNAME, MARATHON_PASSWORD,
	// MARATHON_INSECURE and the same CHRONOS_* (os.Getenv in the CLI).
	Getenv func(string) string
	// SkipApps and SkipJobs leave a step out (--skip-apps, --skip-jobs).
	SkipApps, SkipJobs bool
	// Force lets the apps step override a Marathon deployment in progress.
	Force bool
	// Wait bounds the wait for each app's deployment and health (0: 10
	// minutes).
	Wait time.Duration
	// Cluster chooses the cluster whose Marathon and Chronos the
	// endpoints are, when the bundle's apps or jobs run on several.
	Cluster string
	// HTTPTimeout bounds each request (0: 30 s).
	HTTPTimeout time.Duration
}

// AppsJobsSteps are the apps and jobs steps of a bundle, each nil when
// left out, with why.
type AppsJobsSteps struct {
	Apps, Jobs               outsite.Step
	AppsLeftOut, JobsLeftOut string
}

// Steps returns the steps that run, apps before jobs.
func (s *AppsJobsSteps) Steps() []outsite.Step {
	var out []outsite.Step
	for _, st := range []outsite.Step{s.Apps, s.Jobs} {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

// LoadAppsJobsSteps reads the apps and jobs of a verified bundle directory
// and sets up a step for each kind the bundle has and the environment
// names an endpoint for. A bundle with apps but no MARATHON_URL leaves
// the apps step out and says so (the same for jobs and CHRONOS_URL); it
// contacts nothing.
func LoadAppsJobsSteps(dir string, m *manifest.Manifest, o AppsJobsOptions) (*AppsJobsSteps, error) {
	res := &AppsJobsSteps{}
	if o.Wait < 0 {
		return nil, fmt.Errorf("the wait for apps cannot be negative (%s)", o.Wait)
	}
	apps, err := marathon.LoadApps(dir, m, "")
	if err != nil {
		return nil, err
	}
	jobs, err := chronos.LoadJobs(dir, m, "")
	if err != nil {
		return nil, err
	}
	var appClusters, jobClusters []string
	for _, a := range apps {
		appClusters = appendNew(appClusters, a.Cluster)
	}
	for _, j := range jobs {
		jobClusters = appendNew(jobClusters, j.Cluster)
	}
	pick := func(clusters []string, what string) (string, error) {
		switch {
		case o.Cluster != "":
			return o.Cluster, nil
		case len(clusters) > 1:
			return "", fmt.Errorf("the bundle's %s run on clusters %s, each with its own endpoint: choose one cluster", what, strings.Join(clusters, ", "))
		}
		return "", nil
	}
	switch ep, err := outsite.FromEnv(o.Getenv, "Marathon", "MARATHON"); {
	case err != nil:
		return nil, err
	case o.SkipApps:
		res.AppsLeftOut = "--skip-apps"
	case len(apps) == 0:
		res.AppsLeftOut = "the bundle has no apps"
	case ep.URL == "":
		res.AppsLeftOut = "MARATHON_URL is not set"
	default:
		cl, err := pick(appClusters, "apps")
		if err != nil {
			return nil, err
		}
		apps = filter(apps, func(a marathon.App) bool { return cl == "" || a.Cluster == cl })
		st, err := marathon.New(marathon.Config{URL: ep.URL, Insecure: ep.Insecure, Username: ep.Username, Password: ep.Password, Force: o.Force, Wait: o.Wait, Timeout: o.HTTPTimeout}, apps)
		if err != nil {
			return nil, fmt.Errorf("MARATHON_URL: %w", err)
		}
		res.Apps = st
	}
	switch ep, err := outsite.FromEnv(o.Getenv, "Chronos", "CHRONOS"); {
	case err != nil:
		return nil, err
	case o.SkipJobs:
		res.JobsLeftOut = "--skip-jobs"
	case len(jobs) == 0:
		res.JobsLeftOut = "the bundle has no jobs"
	case ep.URL == "":
		res.JobsLeftOut = "CHRONOS_URL is not set"
	default:
		cl, err := pick(jobClusters, "jobs")
		if err != nil {
			return nil, err
		}
		jobs = filter(jobs, func(j chronos.Job) bool { return cl == "" || j.Cluster == cl })
		st, err := chronos.New(chronos.Config{URL: ep.URL, Insecure: ep.Insecure, Username: ep.Username, Password: ep.Password, Timeout: o.HTTPTimeout}, jobs)
		if err != nil {
			return nil, fmt.Errorf("CHRONOS_URL: %w", err)
		}
		res.Jobs = st
	}
	return res, nil
}

func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

func filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// AppsStep returns the builder of the apps step (Marathon) for a deploy
// or a status: the step of the verified bundle in dir, or none with the
// reason it is left out.
func AppsStep(o AppsJobsOptions) func(dir string, m *manifest.Manifest) ([]outsite.Step, string, error) {
	return func(dir string, m *manifest.Manifest) ([]outsite.Step, string, error) {
		o := o
		o.SkipJobs = true
		s, err := LoadAppsJobsSteps(dir, m, o)
		if err != nil || s.Apps == nil {
			return nil, leftOut(s, true), err
		}
		return []outsite.Step{s.Apps}, "", nil
	}
}

// JobsStep returns the builder of the jobs step (Chronos), as AppsStep.
func JobsStep(o AppsJobsOptions) func(dir string, m *manifest.Manifest) ([]outsite.Step, string, error) {
	return func(dir string, m *manifest.Manifest) ([]outsite.Step, string, error) {
		o := o
		o.SkipApps = true
		s, err := LoadAppsJobsSteps(dir, m, o)
		if err != nil || s.Jobs == nil {
			return nil, leftOut(s, false), err
		}
		return []outsite.Step{s.Jobs}, "", nil
	}
}

func leftOut(s *AppsJobsSteps, apps bool) string {
	switch {
	case s == nil:
		return ""
	case apps:
		return s.AppsLeftOut
	}
	return s.JobsLeftOut
}
