package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/bdebundle/bundle/internal/osfs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/delta"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/bdebundle/bundle/out/verify"
	"github.com/bdebundle/bundle/out/volume"
)

// DeployRequest is what Deploy (and Status) is asked.
type DeployRequest struct {
	// Path is the bundle: a bundle directory or its archive.
	Path string
	// Key, when set, requires bundle.json.sig to be a good signature by it.
	Key []byte
	// Target names the bundle target to deploy to; "" is the first.
	Target string
	// Overrides win over the environment and the target.
	Overrides vcenter.Overrides
	// Getenv reads the govc environment; nil is os.Getenv.
	Getenv func(string) string
	// WorkDir is where an archive is extracted; "" is os.TempDir().
	WorkDir string
	// Base is the base release of a delta (bundle build --base).
	Base string
	// KeepExtracted keeps the bundle extracted from an archive.
	KeepExtracted bool
	// Push tunes the image step (Insecure, Warn, Progress).
	Push PushOptions
	// DryRun plans and changes nothing.
	DryRun bool
	// Progress receives the reading of an archive; Uploads the transfers
	// to vCenter.
	Progress progress.Reporter
	Uploads  progress.Reporter
	// Events receives vCenter's JSON events (vcenter.Options.Events);
	// OnPlan sees vCenter's plan once it is made, before anything changes.
	Events func(vcenter.Event)
	OnPlan func(*vcenter.DeployPlan)
	// ClusterConfig says whether and how cluster config runs on the
	// clusters the bundle moves, after the upload; OnClusterPlan sees that
	// step's plan first, before vCenter's.
	ClusterConfig ClusterConfigOptions
	OnClusterPlan func(*ClusterConfigPlan)
	// SiteSteps run after the clusters, in order (apps, then jobs);
	// OnSitePlan sees each one's plan after the clusters'.
	SiteSteps  []SiteStep
	OnSitePlan func(*SitePlan)

	// status, set by Status, takes the site steps' Status in place of
	// their plans.
	status *StatusResult
}

// DeployResult is the outcome of Deploy.
type DeployResult struct {
	// Outcome is vcenter's; nil when the deploy did not get that far.
	Outcome *vcenter.Outcome
	// Kept is the extracted bundle directory that KeepExtracted kept.
	Kept string
	// ClusterPlan is the cluster config step; Configured lists the
	// clusters it configured.
	ClusterPlan *ClusterConfigPlan
	Configured  []string
	// SitePlans are the plans of the SiteSteps; SiteChanged names what
	// they changed.
	SitePlans   []*SitePlan
	SiteChanged []string
}

// Deploy deploys the bundle at req.Path, a bundle directory or its archive, to
// the vCenter of its target, sequencing vcenter's steps (vcenter.Open,
// Apply, the image push, RecordImages, Finish, Close). Nothing is planned or
// uploaded, and vCenter is not contacted, unless the bundle verifies: a
// directory with the deep checks; an archive while it is extracted (see
// PrepareDeploy). The result is non-nil whenever an extracted bundle was
// kept, errors included. A bundle that does not verify is a
// *manifest.VerifyError (whether this package or out/vcenter finds it); a
// target that cannot be chosen or completed is a *UsageError (or a
// *vcenter.ConfigError).
func Deploy(ctx context.Context, req DeployRequest) (*DeployResult, error) {
	prep, err := PrepareDeploy(ctx, req.Path, PrepareOptions{Key: req.Key, Base: req.Base, WorkDir: req.WorkDir, Progress: req.Progress})
	if err != nil {
		return nil, err
	}
	res := &DeployResult{}
	defer func() {
		if req.KeepExtracted && prep.Extracted {
			res.Kept = prep.Dir
			slog.Info("kept the extracted bundle", "dir", prep.Dir)
			return
		}
		if err := prep.Cleanup(); err != nil {
			slog.Warn("removing the extracted bundle", "dir", prep.Dir, "err", err)
		}
	}()
	b := prep.Bundle
	tgt, err := vcenter.SelectTarget(b.Targets, req.Target)
	if err != nil {
		return res, &UsageError{err}
	}
	getenv := req.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg, err := vcenter.ResolveTarget(tgt, getenv, req.Overrides)
	if err != nil {
		return res, &UsageError{err}
	}
	slog.Debug("deploy", "bundle", b.ID(), "vcenter", cfg.Redacted(), "target", cfg.Target)
	cp, err := planClusterConfig(b.Manifest, req.ClusterConfig, cfg.ManagementServer)
	if err != nil {
		return res, err
	}
	res.ClusterPlan = cp
	defer closeClusters(ctx, cp)
	// The deploy's steps, in order: vCenter's plan (under the datastore
	// folder's lock for a real run), then BDE read, so the plan lists
	// files, templates and images, then clusters; the files and
	// templates; the images, pushed with the verified bundle.json's index
	// digest; the guest copy and the state; the lock released; then the
	// clusters and the site steps.
	d, err := vcenter.Open(ctx, b, cfg, vcenter.Options{
		RequireBase: prep.RequireBase,
		DryRun:      req.DryRun,
		Progress:    req.Uploads,
		Events:      req.Events,
	})
	if err != nil {
		return res, err
	}
	defer d.Close(ctx)
	readErr := res.onPlan(ctx, req, prep.Dir, b.Manifest, cp, d.Plan())
	if req.DryRun {
		res.Outcome = d.DryRun()
	} else {
		res.Outcome, err = applyDeploy(ctx, d, req.Push, b.Manifest)
	}
	// The lock is held across the image push and every write of the
	// state, and released before the clusters step.
	d.Close(ctx)
	if err == nil && readErr != nil {
		// Only a dry run stops here: nothing was changed.
		err = readErr
	}
	if err != nil || req.DryRun {
		return res, err
	}
	// The clusters step runs once the upload is complete: a failure of it
	// leaves a deployed bundle that a re-run finishes.
	res.Configured, err = runClusterConfig(ctx, cp, req.ClusterConfig)
	if err != nil {
		return res, err
	}
	res.SiteChanged, err = runSiteSteps(ctx, res.SitePlans, req.SiteSteps)
	return res, err
}

// onPlan runs once vCenter's plan is made: req.OnPlan sees it, BDE is
// read and the site steps planned (or, for Status, compared). Its error
// does not stop vCenter's steps; it is the deploy's when they succeed.
func (res *DeployResult) onPlan(ctx context.Context, req DeployRequest, dir string, m *manifest.Manifest, cp *ClusterConfigPlan, p *vcenter.DeployPlan) error {
	if req.status != nil {
		if req.OnPlan != nil {
			req.OnPlan(p)
		}
		return statusSites(ctx, dir, m, cp, req.SiteSteps, req.status)
	}
	readErr := readClusters(ctx, dir, m, cp, req.DryRun)
	if req.OnPlan != nil {
		req.OnPlan(p)
	}
	if req.OnClusterPlan != nil && readErr == nil && (len(cp.Changes) > 0 || len(cp.Moves) > 0 || cp.Unread != "") {
		req.OnClusterPlan(cp)
	}
	if readErr == nil {
		res.SitePlans, readErr = planSiteSteps(ctx, dir, m, req.SiteSteps, req.DryRun)
	}
	if req.OnSitePlan != nil && readErr == nil {
		for _, sp := range res.SitePlans {
			req.OnSitePlan(sp)
		}
	}
	return readErr
}

// applyDeploy carries out d's plan: files and templates, the image push
// (the layout held to the index.json digest m, the verified bundle.json,
// lists), then the guest copy and the state naming the deployed bundle.
func applyDeploy(ctx context.Context, d *vcenter.Deployment, push PushOptions, m *manifest.Manifest) (*vcenter.Outcome, error) {
	out, err := d.Apply(ctx)
	if err != nil {
		return out, err
	}
	if ip := d.Images(); ip != nil {
		pushed, perr := pushDeployImages(ctx, push, m, ip.LayoutDir, ip.Registry)
		if err := d.RecordImages(ctx, pushed, perr); err != nil {
			return out, err
		}
	}
	return d.Finish(ctx)
}

// PrepareOptions tune PrepareDeploy.
type PrepareOptions struct {
	// Key, when set, requires bundle.json.sig to be a good signature by it.
	Key []byte
	// Base is the base release of a delta (its directory, archive or
	// volume set), needed to deploy one.
	Base string
	// WorkDir is where an archive is extracted; "" is os.TempDir().
	WorkDir string
	// Progress receives the reading of an archive.
	Progress progress.Reporter
}

// Prepared is a bundle directory ready to deploy.
type Prepared struct {
	// Dir is the bundle directory.
	Dir string
	// Extracted is set when Dir was extracted from an archive (into a new
	// directory of the work dir that Cleanup removes).
	Extracted bool
	// Bundle is the verified bundle, built from the bundle.json that was
	// verified (read once): the deploy holds every upload to its SHA256.
	Bundle *vcenter.Bundle
	// Cleanup removes what PrepareDeploy extracted; a no-op for a
	// directory.
	Cleanup func() error
	// RequireBase is set for a delta: the release the site must hold.
	RequireBase *vcenter.BaseRequirement
}

// PrepareDeploy returns the verified bundle to deploy for path. A
// directory is used in place and verified with the deep checks, reading its
// bundle.json once.
// An archive is read twice: as far as bundle.json, to check that the work
// dir has room for the bundle before anything is written, then once in
// full by verify.Extract, which writes it into a new directory of the work dir
// while verifying it (every file's digest, SHA256SUMS, the SBOM, the
// signature with Key) and runs the deep checks over what it wrote. A volume
// set (out/volume: its manifest or the directory holding it) is read as
// its archive, from where it lies, each volume checked as it passes. An
// archive that is unsafe, damaged or does not verify is a *manifest.VerifyError, and
// nothing is left in the work dir.
func PrepareDeploy(ctx context.Context, path string, opts PrepareOptions) (*Prepared, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if delta.IsDelta(path) {
		return prepareDelta(ctx, path, opts)
	}
	if st.IsDir() && !volume.IsSet(path) {
		r, err := verified(ctx, path, verify.Options{Key: opts.Key})
		if err != nil {
			return nil, err
		}
		b, err := vcenter.NewBundle(path, r.Manifest, r.ManifestSHA256)
		if err != nil {
			return nil, err
		}
		return &Prepared{Dir: path, Bundle: b, Cleanup: func() error { return nil }}, nil
	}
	m, err := read.Manifest(ctx, path)
	if err != nil {
		return nil, archiveErr(path, err)
	}
	var need int64
	for _, f := range m.Files {
		need += f.Size
	}
	workDir := opts.WorkDir
	if workDir == "" {
		workDir = os.TempDir()
	}
	free, err := osfs.FreeBytes(workDir)
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return nil, fmt.Errorf("reading work dir %q: %w", workDir, err)
	}
	if err == nil && free < need {
		return nil, fmt.Errorf("work dir %q has %s free, the bundle needs %s: choose another with --work-dir", workDir, progress.Bytes(free), progress.Bytes(need))
	}
	tmp, err := os.MkdirTemp(workDir, "bundle-deploy-")
	if err != nil {
		return nil, fmt.Errorf("creating a directory in work dir %q: %w", workDir, err)
	}
	dir, rep, err := verify.Extract(ctx, path, tmp, deepOptions(verify.Options{Key: opts.Key, Progress: opts.Progress}))
	if err == nil && !rep.OK() {
		err = &manifest.VerifyError{Path: path, Err: problemsErr(rep)}
	}
	if err != nil {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %q: %w", tmp, rerr))
		}
		return nil, archiveErr(path, err)
	}
	slog.Debug("extracted", "archive", path, "dir", dir)
	b, err := vcenter.NewBundle(dir, rep.Manifest, rep.ManifestSHA256)
	if err != nil {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %q: %w", tmp, rerr))
		}
		return nil, err
	}
	return &Prepared{Dir: dir, Extracted: true, Bundle: b, Cleanup: func() error { return os.RemoveAll(tmp) }}, nil
}

// prepareDelta merges the delta at path onto opts.Base in a new directory
// of the work dir (delta.Merge: nothing is written before the delta
// verifies against the base) and requires the site to hold the base.
func prepareDelta(ctx context.Context, path string, opts PrepareOptions) (*Prepared, error) {
	if opts.Base == "" {
		return nil, &UsageError{fmt.Errorf("%s is a delta: give --base OLD, the release it was made against (its archive, volume set or directory), to assemble the release; deploy checks that the site holds that release", path)}
	}
	base, err := delta.LoadBase(ctx, opts.Base)
	if err != nil {
		return nil, &manifest.VerifyError{Path: opts.Base, Err: err}
	}
	workDir := opts.WorkDir
	if workDir == "" {
		workDir = os.TempDir()
	}
	tmp, err := os.MkdirTemp(workDir, "bundle-deploy-")
	if err != nil {
		return nil, fmt.Errorf("creating a directory in work dir %q: %w", workDir, err)
	}
	dir, rep, err := delta.Merge(ctx, base, path, tmp, opts.Key)
	if err != nil {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %q: %w", tmp, rerr))
		}
		if rep != nil && !rep.OK() {
			var b strings.Builder
			for _, p := range rep.Problems {
				fmt.Fprintf(&b, "\n  %s: %s", p.Path, p.Problem)
			}
			return nil, &manifest.VerifyError{Path: path, Err: fmt.Errorf("%d problem(s):%s", len(rep.Problems), b.String())}
		}
		return nil, archiveErr(path, err)
	}
	sum, err := Verify(ctx, VerifyRequest{Path: dir, Options: verify.Options{Key: opts.Key}})
	if err != nil || !sum.OK() {
		os.RemoveAll(tmp)
		if err == nil {
			err = &manifest.VerifyError{Path: path, Err: problemsErr(sum)}
		}
		return nil, err
	}
	b, err := vcenter.NewBundle(dir, sum.Manifest, sum.ManifestSHA256)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &Prepared{Dir: dir, Extracted: true, Bundle: b, Cleanup: func() error { return os.RemoveAll(tmp) },
		RequireBase: &vcenter.BaseRequirement{Name: rep.Base.Name, Version: rep.Base.Version, BundleSHA256: rep.Base.BundleSHA256, Files: rep.BaseFiles()}}, nil
}

// archiveErr makes a fault of an archive's content a *manifest.VerifyError.
func archiveErr(path string, err error) error {
	var ae *archive.Error
	var ve *manifest.VerifyError
	if errors.As(err, &ae) && !errors.As(err, &ve) {
		return &manifest.VerifyError{Path: path, Err: err}
	}
	return err
}
