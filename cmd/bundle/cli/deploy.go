package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/out"
	"os"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/spf13/cobra"
)

func init() { register(newDeployCmd) }

// verifyBundle checks a bundle before it is deployed.
var verifyBundle = func(ctx context.Context, bundleDir string) error {
	opts := out.VerifyOptions{}
	verifyHooks(&opts)
	r, err := out.Verify(ctx, bundleDir, opts)
	if err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		var b strings.Builder
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "\n  %s", p)
		}
		return fmt.Errorf("the bundle does not verify (%d problems):%s", len(r.Problems), b.String())
	}
	return nil
}

// pushImages pushes a bundle's OCI layout to a site registry, skipping blobs
// the registry has and checking each digest after the push.
var pushImages = func(ctx context.Context, layoutDir, registry string) error {
	_, err := images.Push(ctx, layoutDir, registry, images.Options{})
	return err
}

type deployFlags struct {
	dryRun bool
	target string
	o      vcenter.Overrides
}

func newDeployCmd(g *Globals) *cobra.Command {
	var f deployFlags
	cmd := &cobra.Command{
		Use:   "deploy BUNDLE",
		Short: "Push a bundle to vCenter: plan first, safe to re-run, resumes",
		Long: `deploy verifies the bundle directory BUNDLE, compares it with what is in
vCenter and prints the plan: each datastore file, content library, template
and image set to create, update, replace, delete or leave. Without --dry-run
it then carries the plan out:

  1. uploads the serengeti/ tree to [datastore] datastore_path (default
     bundles/<name>), only files that differ, recording progress in
     .bundle-state.json there so an interrupted deploy resumes;
  2. imports each OVF template into the content library (created if absent)
     or, without a library, as a VM template in the folder;
  3. pushes the images to the site registry, when the target names one;
  4. copies the tree into the BDE management server, when the target names
     one (guest credentials from BUNDLE_GUEST_USERNAME/BUNDLE_GUEST_PASSWORD).

Running it again changes nothing. The connection comes from the govc
environment: GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE,
GOVC_TLS_CA_CERTS, GOVC_DATACENTER, GOVC_DATASTORE, GOVC_FOLDER,
GOVC_RESOURCE_POOL, GOVC_NETWORK. The bundle's target (--target) gives the
defaults, the environment overrides it, flags override both.`,
		Example: `  bundle deploy dist/mesos-site-2015.03.1 --dry-run
  GOVC_URL=https://vcenter.example.com/sdk GOVC_USERNAME=deployer GOVC_PASSWORD=... \
    bundle deploy dist/mesos-site-2015.03.1 --datastore vsanDatastore
  bundle deploy dist/mesos-site-2015.03.1 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd.Context(), g, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	fl.StringVar(&f.target, "target", "", "bundle target to deploy to (default: the first)")
	fl.StringVar(&f.o.Datacenter, "datacenter", "", "datacenter (GOVC_DATACENTER)")
	fl.StringVar(&f.o.Datastore, "datastore", "", "datastore (GOVC_DATASTORE)")
	fl.StringVar(&f.o.Folder, "folder", "", "VM folder for templates without a library (GOVC_FOLDER)")
	fl.StringVar(&f.o.Library, "library", "", "content library for templates")
	fl.StringVar(&f.o.ResourcePool, "resource-pool", "", "resource pool for template imports (GOVC_RESOURCE_POOL)")
	fl.StringVar(&f.o.Network, "network", "", "network for the templates' NICs (GOVC_NETWORK)")
	fl.StringVar(&f.o.DatastorePath, "datastore-path", "", "datastore folder for the serengeti/ tree (default bundles/<name>)")
	fl.StringVar(&f.o.Registry, "registry", "", "site registry to push images to")
	fl.StringVar(&f.o.ManagementServer, "management-server", "", "BDE management server VM to copy the tree into")
	return cmd
}

func runDeploy(ctx context.Context, g *Globals, dir string, f *deployFlags) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return usageErr(fmt.Errorf("%s is a file: deploy needs the extracted bundle directory (e.g. tar --zstd -xf %s, then deploy the <name>-<version>/ directory)", dir, dir))
	} else if err != nil {
		return userErr(fmt.Errorf("reading %q: %w", dir, err))
	}
	b, err := vcenter.LoadBundle(dir)
	if err != nil {
		return userErr(err)
	}
	tgt, err := vcenter.SelectTarget(b.Targets, f.target)
	if err != nil {
		return usageErr(err)
	}
	cfg, err := vcenter.ResolveTarget(tgt, os.Getenv, f.o)
	if err != nil {
		return usageErr(err)
	}
	g.Log.Debug("deploy", "bundle", b.ID(), "vcenter", cfg.Redacted(), "target", cfg.Target)

	var mu sync.Mutex
	enc := json.NewEncoder(g.Out)
	opts := vcenter.Options{
		Verify:     verifyBundle,
		PushImages: pushImages,
		DryRun:     f.dryRun,
		Progress:   &deployProgress{g: g},
	}
	if g.JSON {
		opts.Events = func(e vcenter.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(e)
		}
	} else {
		opts.OnPlan = func(p *vcenter.DeployPlan) {
			if !g.Quiet || p.Changes() > 0 {
				_ = p.Write(g.Out, g.Verbose)
			}
		}
	}
	out, err := vcenter.Deploy(ctx, dir, cfg, opts)
	if err != nil {
		var ve *vcenter.VerifyError
		var ce *vcenter.ConfigError
		switch {
		case errors.As(err, &ve):
			return userErr(err)
		case errors.As(err, &ce):
			return usageErr(err)
		default:
			return envErr(err)
		}
	}
	if g.JSON || g.Quiet || out.NoChanges {
		return nil
	}
	if f.dryRun {
		fmt.Fprintln(g.Out, "\nDry run: nothing was changed.")
		return nil
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("%d files uploaded (%s)", out.Uploads, vcenter.HumanBytes(out.UploadBytes)))
	if out.Deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted", out.Deleted))
	}
	if out.Templates > 0 {
		parts = append(parts, fmt.Sprintf("%d templates imported", out.Templates))
	}
	if out.Retried > 0 {
		parts = append(parts, fmt.Sprintf("%d transfers retried", out.Retried))
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
		fmt.Fprintf(t.g.Err, "upload %s failed after %s: %v\n", t.name, vcenter.HumanBytes(t.n), err)
		return
	}
	fmt.Fprintf(t.g.Err, "uploaded %s (%s)\n", t.name, vcenter.HumanBytes(t.n))
}
