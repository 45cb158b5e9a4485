package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newDeployCmd) }

// verifyBundle checks a bundle directory before it is deployed, deep checks
// included; with a key, bundle.json.sig must be a good signature by it.
var verifyBundle = func(ctx context.Context, bundleDir string, key []byte) error {
	r, err := pipeline.Verify(ctx, bundleDir, read.VerifyOptions{Key: key})
	if err != nil {
		return err
	}
	return problemsErr(r)
}

// problemsErr is nil for a good report, else an error listing its problems.
func problemsErr(r *read.Report) error {
	if r.OK() {
		return nil
	}
	var b strings.Builder
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Path, p.Problem)
	}
	noun := "problems"
	if len(r.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Errorf("%d %s:%s", len(r.Problems), noun, b.String())
}

type deployFlags struct {
	dryRun        bool
	target        string
	keyFile       string
	workDir       string
	keepExtracted bool
	insecure      []string
	o             vcenter.Overrides
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
     one (guest credentials from BUNDLE_GUEST_USERNAME/BUNDLE_GUEST_PASSWORD).

Running it again changes nothing. The connection comes from the govc
environment: GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE,
GOVC_TLS_CA_CERTS, GOVC_DATACENTER, GOVC_DATASTORE, GOVC_FOLDER,
GOVC_RESOURCE_POOL, GOVC_NETWORK. The bundle's target (--target) gives the
defaults, the environment overrides it, flags override both.

BUNDLE is a bundle directory or its archive (.tar.zst, .tar.gz, .tar). An
archive is verified as a stream first (unsafe entries are refused), then
extracted into a temporary directory under --work-dir, which is removed
after the deploy unless --keep-extracted is given. With --key, the bundle
must carry a good signature (bundle.json.sig) by that key.`,
		Example: `  bundle deploy mesos-site-2015.03.1.tar.zst --key release.pub.asc --dry-run
  bundle deploy dist/mesos-site-2015.03.1 --dry-run
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
	fl.StringVar(&f.keyFile, "key", "", "armored OpenPGP public key or keyring: require a good bundle.json.sig")
	fl.StringVar(&f.workDir, "work-dir", "", "where an archive is extracted (default: the system temporary directory)")
	fl.BoolVar(&f.keepExtracted, "keep-extracted", false, "keep the bundle extracted from an archive after the deploy")
	fl.StringVar(&f.o.Datacenter, "datacenter", "", "datacenter (GOVC_DATACENTER)")
	fl.StringVar(&f.o.Datastore, "datastore", "", "datastore (GOVC_DATASTORE)")
	fl.StringVar(&f.o.Folder, "folder", "", "VM folder for templates without a library (GOVC_FOLDER)")
	fl.StringVar(&f.o.Library, "library", "", "content library for templates")
	fl.StringVar(&f.o.ResourcePool, "resource-pool", "", "resource pool for template imports (GOVC_RESOURCE_POOL)")
	fl.StringVar(&f.o.Network, "network", "", "network for the templates' NICs (GOVC_NETWORK)")
	fl.StringVar(&f.o.DatastorePath, "datastore-path", "", "datastore folder for the serengeti/ tree (default bundles/<name>)")
	fl.StringVar(&f.o.Registry, "registry", "", "registry to push images to (default: the target's, which is the bundle's site registry)")
	fl.StringSliceVar(&f.insecure, "insecure-registry", nil, "registry host that may be spoken to over plain HTTP (repeatable; loopback always may)")
	fl.StringVar(&f.o.ManagementServer, "management-server", "", "BDE management server VM to copy the tree into")
	return cmd
}

func runDeploy(ctx context.Context, g *Globals, dir string, f *deployFlags) error {
	key, err := readPublicKey(f.keyFile)
	if err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return userErr(fmt.Errorf("reading %q: %w", dir, err))
	}
	if !st.IsDir() {
		extracted, cleanup, err := extractArchive(ctx, g, dir, key, f)
		if err != nil {
			return err
		}
		defer cleanup()
		dir = extracted
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
		Verify: func(ctx context.Context, d string) error { return verifyBundle(ctx, d, key) },
		PushImages: pipeline.DeployImagePusher(pipeline.PushOptions{Insecure: f.insecure, Progress: &deployProgress{g: g},
			Warn: func(w string) {
				if g.JSON {
					mu.Lock()
					defer mu.Unlock()
					_ = enc.Encode(map[string]any{"event": "warning", "message": w})
					return
				}
				fmt.Fprintf(g.Err, "Warning: %s\n", w)
			}}),
		DryRun:   f.dryRun,
		Progress: &deployProgress{g: g},
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
	parts = append(parts, fmt.Sprintf("%d files uploaded (%s)", out.Uploads, progress.Bytes(out.UploadBytes)))
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

// extractArchive verifies the archive (with the signature when key is set),
// then extracts it into a new temporary directory under the work dir. It
// returns the bundle directory and a cleanup that removes the temporary
// directory (or, with --keep-extracted, says where it is). On error nothing
// is left in the work dir.
func extractArchive(ctx context.Context, g *Globals, archive string, key []byte, f *deployFlags) (string, func(), error) {
	rep := newReporter(g)
	defer rep.Close()
	r, err := read.Verify(ctx, archive, read.VerifyOptions{Key: key, Progress: rep})
	if err != nil {
		return "", nil, envErr(err)
	}
	if err := problemsErr(r); err != nil {
		return "", nil, userErr(fmt.Errorf("the archive %s does not verify: %w", archive, err))
	}
	workDir := f.workDir
	if workDir == "" {
		workDir = os.TempDir()
	}
	free, err := osfs.FreeBytes(workDir)
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return "", nil, envErr(fmt.Errorf("reading work dir %q: %w", workDir, err))
	}
	if err == nil && free < r.Bytes {
		return "", nil, envErr(fmt.Errorf("work dir %q has %s free, the bundle needs %s: choose another with --work-dir", workDir, progress.Bytes(free), progress.Bytes(r.Bytes)))
	}
	tmp, err := os.MkdirTemp(workDir, "bundle-deploy-")
	if err != nil {
		return "", nil, envErr(fmt.Errorf("creating a directory in work dir %q: %w", workDir, err))
	}
	dir, err := read.Extract(ctx, archive, tmp, read.ExtractOptions{Progress: rep})
	if err != nil {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %q: %w", tmp, rerr))
		}
		var ae *read.ArchiveError
		if errors.As(err, &ae) {
			return "", nil, userErr(err)
		}
		return "", nil, envErr(err)
	}
	g.Log.Debug("extracted", "archive", archive, "dir", dir)
	cleanup := func() {
		if f.keepExtracted {
			g.Log.Info("kept the extracted bundle", "dir", dir)
			if !g.Quiet && !g.JSON {
				fmt.Fprintf(g.Err, "The extracted bundle is kept in %s\n", dir)
			}
			return
		}
		if err := os.RemoveAll(tmp); err != nil {
			g.Log.Warn("removing the extracted bundle", "dir", tmp, "err", err)
		}
	}
	return dir, cleanup, nil
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
