package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/bdebundle/bundle/out/manifest"
	outsite "github.com/bdebundle/bundle/out/site"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newStatusCmd) }

func newStatusCmd(g *Globals) *cobra.Command {
	var f deployFlags
	cmd := &cobra.Command{
		Use:   "status BUNDLE",
		Short: "Compare the site with a bundle: files, templates, images, clusters, apps, jobs; change nothing",
		Long: `status reads what the site has and compares it with what the bundle BUNDLE
says, changing nothing: the files of the serengeti/ tree on the datastore,
the VM templates and the images (as a dry-run deploy plans them: an object
the deploy would leave as it is matches), then BDE's clusters (distro
version, status, configuration, and each node group's size), Marathon's apps
and Chronos' jobs. It reaches them as deploy does: the govc environment for
vCenter, BDE_URL, BDE_USERNAME, BDE_PASSWORD (BDE_INSECURE) for BDE,
MARATHON_URL and CHRONOS_URL for the apps and jobs; a step without its
endpoint, or skipped with --skip-clusters, --skip-apps or --skip-jobs, is
left out and says so.

The exit code says whether the site matches: 0 when every row matches, 1
when one differs, 3 when a site API cannot be reached, is too slow or
answers something that is not its API. -v lists the files that match too;
--json prints every row.`,
		Example: `  BDE_URL=bde.localdomain BDE_USERNAME=admin BDE_PASSWORD=... bundle status dist/mesos-site-2015.03.1
  bundle status dist/mesos-site-2015.03.1 --skip-apps --skip-jobs --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), g, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "bundle target to compare with (default: the first)")
	fl.StringVar(&f.o.Folder, "folder", "", "VM folder of templates without a library (GOVC_FOLDER)")
	fl.StringVar(&f.o.Library, "library", "", "content library of the templates")
	fl.StringVar(&f.o.DatastorePath, "datastore-path", "", "datastore folder of the serengeti/ tree (default bundles/<name>)")
	fl.StringVar(&f.o.Registry, "registry", "", "registry of the images (default: the target's)")
	fl.StringVar(&f.bdeURL, "bde-url", "", "BDE server (BDE_URL)")
	f.registerShared(fl)
	_ = fl.MarkHidden("allow-shrink")
	_ = fl.MarkHidden("force-apps")
	return cmd
}

func runStatus(ctx context.Context, g *Globals, path string, f *deployFlags) error {
	key, err := readPublicKey(f.keyFile)
	if err != nil {
		return err
	}
	opts := pipeline.DeployRequest{
		Path: path, Key: key, Target: f.target, Overrides: f.o, WorkDir: f.workDir,
		Push: pipeline.PushOptions{Insecure: f.insecure, Warn: func(string) {}},
	}
	if opts.ClusterConfig, err = clusterConfigOptions(f, g); err != nil {
		return usageErr(err)
	}
	opts.ClusterConfig.Progress = nil
	opts.SiteSteps = siteSteps(f, g)
	r, err := pipeline.Status(ctx, opts)
	if err != nil {
		return siteErr(err)
	}
	if g.JSON {
		if err := writeJSON(g, map[string]any{"event": "status", "matches": r.Matches(), "status": r}); err != nil {
			return err
		}
	} else {
		writeStatus(g, r)
	}
	if !r.Matches() {
		return userErr(nil)
	}
	return nil
}

// writeStatus prints the rows: every one but the files that match (they
// are counted; -v lists them).
func writeStatus(g *Globals, r *pipeline.StatusResult) {
	fmt.Fprintf(g.Out, "Site against bundle %s %s:\n", outsite.Clean(r.Bundle), outsite.Clean(r.Version))
	var shown []outsite.Status
	files, filesOK, differ := 0, 0, 0
	for _, row := range r.Rows {
		if !row.OK {
			differ++
		}
		if row.Kind == "file" {
			files++
			if row.OK {
				filesOK++
				if !g.Verbose {
					continue
				}
			}
		}
		shown = append(shown, row)
	}
	if files > 0 {
		fmt.Fprintf(g.Out, "  files: %d of %d match\n", filesOK, files)
	}
	_ = outsite.WriteStatus(g.Out, shown)
	for _, step := range []string{"clusters", "apps", "jobs"} {
		if why, ok := r.LeftOut[step]; ok {
			fmt.Fprintf(g.Out, "  %s: not compared: %s\n", step, outsite.Clean(why))
		}
	}
	if differ == 0 {
		fmt.Fprintf(g.Out, "The site matches the bundle (%s).\n", plural(len(r.Rows), "object"))
		return
	}
	fmt.Fprintf(g.Out, "The site differs from the bundle: %d of %s (bundle deploy brings it there).\n", differ, plural(len(r.Rows), "object"))
}

// siteErr maps an error of deploy or status to its exit code: a site API
// that cannot be reached 3; BDE, Marathon or Chronos refusing, a task that
// failed, a bundle that does not verify or a site without the delta's base
// 1 (but a step cut short by its deadline or a cancel 3); a bad flag 2.
func siteErr(err error) error {
	var unreachable *pipeline.BDEUnreachableError
	var unavailable *outsite.UnavailableError
	var cce *pipeline.ClusterConfigError
	var sse *pipeline.SiteStepError
	var ve *manifest.VerifyError
	var pue *pipeline.UsageError
	var ce *vcenter.ConfigError
	switch {
	case errors.As(err, &unreachable), errors.As(err, &unavailable):
		return envErr(err)
	case (errors.As(err, &cce) || errors.As(err, &sse)) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		// The site answered: a refused login, a refused call, a task
		// that failed.
		return userErr(err)
	case errors.As(err, &ve), errors.Is(err, vcenter.ErrChanged), errors.Is(err, vcenter.ErrBaseMissing):
		// A file that changed after verify is a bundle that does not
		// verify.
		return userErr(err)
	case errors.As(err, &pue), errors.As(err, &ce):
		return usageErr(err)
	default:
		return pathErr(err)
	}
}
