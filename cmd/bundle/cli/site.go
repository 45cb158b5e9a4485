package cli

import (
	"fmt"
	"os"
	"time"

	outsite "github.com/bdebundle/bundle/out/site"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/pflag"
)

// siteFlags select the site steps of a deploy.
type siteFlags struct {
	skipClusters, skipApps, skipJobs bool
	allowShrink                      bool
	forceApps                        bool
	appWait                          time.Duration
	siteCluster                      string
}

func (f *siteFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.skipClusters, "skip-clusters", false, "leave BDE's clusters as they are (no create, config or resize)")
	fl.BoolVar(&f.skipApps, "skip-apps", false, "leave Marathon's apps as they are")
	fl.BoolVar(&f.skipJobs, "skip-jobs", false, "leave Chronos' jobs as they are")
	fl.BoolVar(&f.allowShrink, "allow-shrink", false, "let a BDE node group shrink to the bundle's size (refused without it)")
	fl.BoolVar(&f.forceApps, "force-apps", false, "override a Marathon deployment in progress on an app the bundle changes (PUT ?force=true cancels it)")
	fl.DurationVar(&f.appWait, "app-wait", 10*time.Minute, "how long to wait for each changed app's deployment and health")
	fl.StringVar(&f.siteCluster, "site-cluster", "", "the cluster whose Marathon and Chronos MARATHON_URL and CHRONOS_URL are, when the bundle's apps or jobs run on several")
}

// bdeEndpoint reads the BDE server, user, password and TLS switch: a flag
// (older names --bde-url, --bde-user, --bde-insecure) wins over BDE_URL,
// BDE_USERNAME, BDE_PASSWORD, BDE_INSECURE, which win over the older
// BUNDLE_BDE_* names. The password never comes from a flag.
func bdeEndpoint(url, user string, insecure bool) (outsite.Endpoint, error) {
	e, err := outsite.FromEnv(os.Getenv, "BDE", "BDE")
	if err != nil {
		return e, err
	}
	old, err := outsite.FromEnv(os.Getenv, "BDE", "BUNDLE_BDE")
	if err != nil {
		return e, err
	}
	pick := func(flag, now, older string) string {
		switch {
		case flag != "":
			return flag
		case now != "":
			return now
		}
		return older
	}
	e.URL = pick(url, e.URL, old.URL)
	e.Username = pick(user, e.Username, old.Username)
	e.Password = pick("", e.Password, old.Password)
	e.Insecure = insecure || e.Insecure || old.Insecure
	return e, nil
}

// clusterConfigOptions are the clusters step's settings from the flags
// and the environment.
func clusterConfigOptions(f *deployFlags, g *Globals) (pipeline.ClusterConfigOptions, error) {
	e, err := bdeEndpoint(f.bdeURL, f.bdeUser, f.bdeInsecure)
	if err != nil {
		return pipeline.ClusterConfigOptions{}, err
	}
	o := pipeline.ClusterConfigOptions{
		Skip:        f.noClusterConfig || f.site.skipClusters,
		Server:      e.URL,
		Username:    e.Username,
		Password:    e.Password,
		Insecure:    e.Insecure,
		AllowShrink: f.site.allowShrink,
	}
	if g.Verbose && !g.JSON {
		o.Progress = func(p outsite.Progress) {
			fmt.Fprintf(g.Err, "%s %s %s: %d%% %s\n", p.Change.Action, p.Change.Kind, outsite.Clean(p.Change.Name), int(p.Fraction*100), outsite.Clean(p.Message))
		}
	}
	return o, nil
}

// writeClusterPlan prints the clusters step of the plan, after vCenter's.
func writeClusterPlan(g *Globals, p *pipeline.ClusterConfigPlan) {
	w := g.Out
	server := p.Server
	if server == "" {
		server = "(no BDE server)"
	}
	fmt.Fprintln(w)
	heading := fmt.Sprintf("Clusters through BDE %s, after the upload", server)
	switch {
	case p.LeftOut != "":
		fmt.Fprintf(w, "%s: left out: %s\n", heading, p.LeftOut)
		for _, mv := range p.Moves {
			fmt.Fprintf(w, "  ~ cluster   config     %-24s %s %s -> %s (not run)\n", mv.Cluster, mv.Distro, mv.From, mv.To)
		}
	case p.Unread != "":
		fmt.Fprintf(w, "%s: BDE could not be read (%s); the step will fail after the upload, and a re-run finishes it\n", heading, outsite.Clean(p.Unread))
	default:
		_ = outsite.WritePlan(w, heading, p.Changes, g.Verbose)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(g.Err, "Warning: %s\n\n", warn)
	}
}

// siteSteps are the steps after the clusters: apps through Marathon
// (MARATHON_URL, MARATHON_USERNAME, MARATHON_PASSWORD, MARATHON_INSECURE),
// jobs through Chronos (the same CHRONOS_*); a step whose URL is not set is
// left out with the reason.
func siteSteps(f *deployFlags, g *Globals) []pipeline.SiteStep {
	progress := func(p outsite.Progress) {
		if g.Verbose && !g.JSON {
			fmt.Fprintf(g.Err, "%s %s %s: %s\n", p.Change.Action, p.Change.Kind, outsite.Clean(p.Change.Name), outsite.Clean(p.Message))
		}
	}
	o := pipeline.AppsJobsOptions{Getenv: os.Getenv, Force: f.site.forceApps, Wait: f.site.appWait, Cluster: f.site.siteCluster}
	return []pipeline.SiteStep{
		{Name: "apps", Skip: f.site.skipApps, SkipReason: "--skip-apps", Build: pipeline.AppsStep(o), Progress: progress},
		{Name: "jobs", Skip: f.site.skipJobs, SkipReason: "--skip-jobs", Build: pipeline.JobsStep(o), Progress: progress},
	}
}

// writeSitePlan prints the plan of a step after the clusters.
func writeSitePlan(g *Globals, p *pipeline.SitePlan) {
	heading := map[string]string{"apps": "Apps through Marathon", "jobs": "Jobs through Chronos"}[p.Step]
	if heading == "" {
		heading = p.Step
	}
	heading += ", after the clusters"
	if p.LeftOut != "" && !g.Verbose {
		return
	}
	fmt.Fprintln(g.Out)
	switch {
	case p.LeftOut != "":
		fmt.Fprintf(g.Out, "%s: left out: %s\n", heading, outsite.Clean(p.LeftOut))
	case p.Unread != "":
		fmt.Fprintf(g.Out, "%s: the site could not be read (%s); the step will fail after the upload, and a re-run finishes it\n", heading, outsite.Clean(p.Unread))
	default:
		_ = outsite.WritePlan(g.Out, heading, p.Changes, g.Verbose)
	}
}
