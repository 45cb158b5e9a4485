package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/internal/progress"
	outsite "github.com/bdebundle/bundle/out/site"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { register(newDeployCmd) }

type deployFlags struct {
	dryRun        bool
	target        string
	keyFile       string
	baseFile      string
	workDir       string
	keepExtracted bool
	insecure      []string
	o             vcenter.Overrides

	noClusterConfig bool
	bdeURL, bdeUser string
	bdeInsecure     bool
	site            siteFlags

	// rerun is the command as given, for the command that finishes a
	// deploy that stopped.
	rerun []string
}

// registerShared registers the flags deploy and status share, with the
// same meaning: the bundle's key and work dir, the datacenter and
// datastore, the registries spoken to over HTTP, the BDE user and TLS
// check, and the site steps' flags.
func (f *deployFlags) registerShared(fl *pflag.FlagSet) {
	fl.StringVar(&f.keyFile, "key", "", "armored OpenPGP public key or keyring: require a good bundle.json.sig")
	fl.StringVar(&f.workDir, "work-dir", "", "where an archive is extracted (default: the system temporary directory)")
	fl.StringVar(&f.o.Datacenter, "datacenter", "", "datacenter (GOVC_DATACENTER)")
	fl.StringVar(&f.o.Datastore, "datastore", "", "datastore (GOVC_DATASTORE)")
	fl.StringSliceVar(&f.insecure, "insecure-registry", nil, "registry host that may be spoken to over plain HTTP (repeatable; loopback always may)")
	fl.StringVar(&f.bdeUser, "bde-user", "", "BDE user (BDE_USERNAME); the password comes from BDE_PASSWORD only")
	fl.BoolVar(&f.bdeInsecure, "bde-insecure", false, "do not check the BDE server's TLS certificate (BDE_INSECURE=1)")
	f.site.register(fl)
}

// rerunArgs is "bundle deploy BUNDLE" with the flags given (but --dry-run).
func rerunArgs(cmd *cobra.Command, path string) []string {
	args := []string{"bundle", "deploy", path}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		switch {
		case fl.Name == "dry-run":
		case fl.Value.Type() == "bool":
			if fl.Value.String() == "true" {
				args = append(args, "--"+fl.Name)
			}
		case fl.Value.Type() == "stringSlice":
			vs, _ := cmd.Flags().GetStringSlice(fl.Name)
			for _, v := range vs {
				args = append(args, "--"+fl.Name, v)
			}
		default:
			args = append(args, "--"+fl.Name, fl.Value.String())
		}
	})
	return args
}

func newDeployCmd(g *Globals) *cobra.Command {
	var f deployFlags
	cmd := &cobra.Command{
		Use:   "deploy BUNDLE",
		Short: "Push a bundle to vCenter: plan first, safe to re-run, resumes",
		Long: `deploy verifies the bundle BUNDLE, compares it with what is in vCenter and
prints the plan: each datastore file, content library, template and image set
to create, update, replace, delete or leave. Without --dry-run it then carries
the plan out:

  1. uploads the serengeti/ tree to [datastore] datastore_path (default
     bundles/<name>), only files that differ, recording progress in
     .bundle-state.json there so an interrupted deploy resumes;
  2. imports each OVF template into the content library (created if absent)
     or, without a library, as a VM template in the folder;
  3. pushes the images to the site registry, when the target names one;
  4. copies the tree into the BDE management server, when the target names
     one (guest credentials from BUNDLE_GUEST_USERNAME/BUNDLE_GUEST_PASSWORD);
  5. brings BDE's clusters to the bundle's specs through BDE's REST API
     (BDE_URL, BDE_USERNAME, BDE_PASSWORD, BDE_INSECURE; the older
     --bde-url, --bde-user, --bde-insecure and BUNDLE_BDE_* still work;
     the password only from the environment): creates a cluster BDE lacks,
     runs cluster config where the distro version or configuration differs
     (Chef runs again on every node), resizes node groups; never deletes a
     cluster, and shrinks a node group only with --allow-shrink.
     --skip-clusters (or --no-cluster-config) leaves the step out;
  6. then the apps step (Marathon, MARATHON_URL) and the jobs step
     (Chronos, CHRONOS_URL), each left out with --skip-apps, --skip-jobs.

The plan lists files, templates and images, then the clusters, apps and
jobs (the site's APIs are only read for it); their changes are made after
the upload, in that order, and a site that matches gets no write call. A
re-run after a failure plans again from what the site has and finishes.
Details: docs/site.md.

The summary counts the files uploaded and skipped as unchanged, the
templates imported, the images pushed and what changed in BDE. A deploy
that stops part-way says what is done, what is not, and the command that
finishes it (with --json: a "result" event). Running it again changes
nothing. The connection comes from the govc
environment: GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE,
GOVC_TLS_CA_CERTS, GOVC_DATACENTER, GOVC_DATASTORE, GOVC_FOLDER,
GOVC_RESOURCE_POOL, GOVC_NETWORK. The bundle's target (--target) gives the
defaults, the environment overrides it, flags override both.

BUNDLE is a bundle directory or its archive (.tar.zst, .tar.gz, .tar). An
archive is extracted into a temporary directory under --work-dir and
verified as it is written (unsafe entries are refused before anything is
written for them; a bundle that does not verify is removed before vCenter
is contacted); the directory is removed after the deploy unless
--keep-extracted is given. With --key, the bundle must carry a good
signature (bundle.json.sig) by that key. A volume set (its manifest or
directory) is read as its archive, in place.

BUNDLE may be a delta (bundle build --base) with --base OLD, the release it
was made against: the delta is verified against OLD and merged into the work
dir (nothing is written before it verifies), and before the plan is shown
deploy checks that the site holds OLD: the datastore folder's state records
OLD's bundle.json digest (written by a deploy that completed) and every
serengeti/ file the release takes from OLD with its sha256. Otherwise it
refuses (exit 1), naming what is missing, and changes nothing.`,
		Example: `  bundle deploy mesos-site-2015.03.1.tar.zst --key release.pub.asc --dry-run
  bundle deploy dist/mesos-site-2015.03.1 --dry-run
  GOVC_URL=https://vcenter.example.com/sdk GOVC_USERNAME=deployer GOVC_PASSWORD=... \
    bundle deploy dist/mesos-site-2015.03.1 --datastore vsanDatastore
  bundle deploy dist/mesos-site-2015.03.1 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.rerun = rerunArgs(cmd, args[0])
			return runDeploy(cmd.Context(), g, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	fl.StringVar(&f.target, "target", "", "bundle target to deploy to (default: the first)")
	fl.StringVar(&f.baseFile, "base", "", "with a delta: the release it was made against (its archive, volume set or directory); the site must hold it")
	fl.BoolVar(&f.keepExtracted, "keep-extracted", false, "keep the bundle extracted from an archive after the deploy")
	fl.StringVar(&f.o.Folder, "folder", "", "VM folder for templates without a library (GOVC_FOLDER)")
	fl.StringVar(&f.o.Library, "library", "", "content library for templates")
	fl.StringVar(&f.o.ResourcePool, "resource-pool", "", "resource pool for template imports (GOVC_RESOURCE_POOL)")
	fl.StringVar(&f.o.Network, "network", "", "network for the templates' NICs (GOVC_NETWORK)")
	fl.StringVar(&f.o.DatastorePath, "datastore-path", "", "datastore folder for the serengeti/ tree (default bundles/<name>)")
	fl.StringVar(&f.o.Registry, "registry", "", "registry to push images to (default: the target's, which is the bundle's site registry)")
	fl.StringVar(&f.o.ManagementServer, "management-server", "", "BDE management server VM to copy the tree into")
	fl.BoolVar(&f.noClusterConfig, "no-cluster-config", false, "older name of --skip-clusters")
	fl.StringVar(&f.bdeURL, "bde-url", "", "BDE server: host or https://host:8443/serengeti (BDE_URL)")
	f.registerShared(fl)
	return cmd
}

func runDeploy(ctx context.Context, g *Globals, path string, f *deployFlags) error {
	key, err := readPublicKey(f.keyFile)
	if err != nil {
		return err
	}
	// rep shows the reading of an archive; it is closed before the plan
	// is printed.
	rep := newReporter(g)
	closeRep := sync.OnceFunc(rep.Close)
	defer closeRep()
	var mu sync.Mutex
	enc := json.NewEncoder(g.Out)
	opts := pipeline.DeployRequest{
		Path:          path,
		Key:           key,
		Target:        f.target,
		Overrides:     f.o,
		WorkDir:       f.workDir,
		Base:          f.baseFile,
		KeepExtracted: f.keepExtracted,
		Push: pipeline.PushOptions{Insecure: f.insecure, Progress: &deployProgress{g: g},
			Warn: func(w string) {
				if g.JSON {
					mu.Lock()
					defer mu.Unlock()
					_ = enc.Encode(map[string]any{"event": "warning", "message": w})
					return
				}
				fmt.Fprintf(g.Err, "Warning: %s\n", w)
			}},
		DryRun:   f.dryRun,
		Progress: rep,
		Uploads:  &deployProgress{g: g},
	}
	if opts.ClusterConfig, err = clusterConfigOptions(f, g); err != nil {
		return usageErr(err)
	}
	opts.SiteSteps = siteSteps(f, g)
	if g.JSON {
		// Each poll of a site step's wait is a "site_progress" event.
		progressJSON := func(step string) func(outsite.Progress) {
			return func(p outsite.Progress) {
				mu.Lock()
				defer mu.Unlock()
				_ = enc.Encode(map[string]any{"event": "site_progress", "step": step, "progress": p})
			}
		}
		opts.ClusterConfig.Progress = progressJSON("clusters")
		for i := range opts.SiteSteps {
			opts.SiteSteps[i].Progress = progressJSON(opts.SiteSteps[i].Name)
		}
	}
	if g.JSON {
		opts.Events = func(e vcenter.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(e)
		}
	} else {
		opts.OnClusterPlan = func(p *pipeline.ClusterConfigPlan) {
			closeRep()
			writeClusterPlan(g, p)
		}
		opts.OnPlan = func(p *vcenter.DeployPlan) {
			closeRep()
			if !g.Quiet || p.Changes() > 0 {
				_ = p.Write(g.Out, g.Verbose)
			}
		}
	}
	opts.OnSitePlan = func(p *pipeline.SitePlan) { writeSitePlan(g, p) }
	if g.JSON {
		opts.OnSitePlan = func(p *pipeline.SitePlan) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(map[string]any{"event": "site_plan", "plan": p})
		}
		opts.OnClusterPlan = func(p *pipeline.ClusterConfigPlan) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(map[string]any{"event": "cluster_config_plan", "plan": p})
		}
	}
	res, err := pipeline.Deploy(ctx, opts)
	closeRep()
	if res != nil && res.Kept != "" && !g.Quiet && !g.JSON {
		fmt.Fprintf(g.Err, "The extracted bundle is kept in %s\n", printable(res.Kept))
	}
	if err != nil && res != nil && res.Outcome != nil && !f.dryRun {
		// Something may be done: say what, what is not, and how to
		// finish.
		r := newDeployReport(res, err, f.rerun)
		if g.JSON {
			mu.Lock()
			_ = enc.Encode(r)
			mu.Unlock()
		} else {
			r.writeStopped(g.Err)
		}
	}
	if err != nil {
		return siteErr(err)
	}
	out := res.Outcome
	if g.JSON && !f.dryRun {
		_ = enc.Encode(newDeployReport(res, nil, f.rerun))
	}
	if g.JSON || g.Quiet || (out.NoChanges && len(res.Configured) == 0 && len(res.SiteChanged) == 0) {
		return nil
	}
	if f.dryRun {
		fmt.Fprintln(g.Out, "\nDry run: nothing was changed.")
		return nil
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("%s uploaded (%s)", plural(out.Uploads, "file"), progress.Bytes(out.UploadBytes)))
	if out.Unchanged > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped as unchanged (%s)", out.Unchanged, progress.Bytes(out.UnchangedBytes)))
	}
	if out.Deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted", out.Deleted))
	}
	if out.Templates > 0 {
		parts = append(parts, fmt.Sprintf("%s imported", plural(out.Templates, "template")))
	}
	if out.TemplatesUnchanged > 0 {
		parts = append(parts, fmt.Sprintf("%s unchanged", plural(out.TemplatesUnchanged, "template")))
	}
	if p := out.Pushed; p != nil {
		parts = append(parts, fmt.Sprintf("%s pushed to %s (%s sent, %s already there)", plural(p.Images, "image"), out.Registry, progress.Bytes(p.Bytes), progress.Bytes(p.SkippedBytes)))
	}
	if out.Retried > 0 {
		parts = append(parts, fmt.Sprintf("%d transfers retried", out.Retried))
	}
	if len(res.Configured) > 0 {
		parts = append(parts, "changed in BDE: "+strings.Join(res.Configured, ", "))
	}
	if len(res.SiteChanged) > 0 {
		parts = append(parts, "changed in Marathon and Chronos: "+strings.Join(res.SiteChanged, ", "))
	}
	fmt.Fprintf(g.Out, "\nDeployed bundle %s %s: %s.\n", out.Bundle, out.Version, strings.Join(parts, ", "))
	return nil
}

// deployProgress reports finished uploads on stderr in verbose mode.
type deployProgress struct{ g *Globals }

func (p *deployProgress) Start(name string, total int64) progress.Task {
	if !p.g.Verbose || p.g.JSON {
		return progress.Discard.Start(name, total)
	}
	return &deployTask{g: p.g, name: name, total: total}
}

type deployTask struct {
	g     *Globals
	name  string
	total int64
	n     int64
	mu    sync.Mutex
}

func (t *deployTask) Add(n int64) { t.mu.Lock(); t.n += n; t.mu.Unlock() }

func (t *deployTask) Done(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		fmt.Fprintf(t.g.Err, "upload %s failed after %s: %v\n", t.name, progress.Bytes(t.n), err)
		return
	}
	fmt.Fprintf(t.g.Err, "uploaded %s (%s)\n", t.name, progress.Bytes(t.n))
}
