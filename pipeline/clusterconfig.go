package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/bdebundle/bundle/out/bde"
	"github.com/bdebundle/bundle/out/clusters"
	"github.com/bdebundle/bundle/out/manifest"
	outsite "github.com/bdebundle/bundle/out/site"
)

// ClusterConfigOptions say whether and how deploy runs the clusters step
// (package out/clusters): BDE clusters created, configured and resized to
// the bundle's specs, after the upload.
type ClusterConfigOptions struct {
	// Skip leaves the step out (--skip-clusters, or the older
	// --no-cluster-config).
	Skip bool
	// Server, Username and Password reach BDE's REST API; without a
	// server the step is left out (with a warning when the bundle moves a
	// cluster).
	Server, Username, Password string
	// Insecure skips the TLS certificate check of the server.
	Insecure bool
	// PollInterval is the time between task polls (0: BDE CLI's 3 s).
	PollInterval time.Duration
	// AllowShrink lets a node group shrink (--allow-shrink).
	AllowShrink bool
	// Progress sees every poll of a change's task.
	Progress func(p outsite.Progress)
	// HTTPClient, when set, carries the requests (tests).
	HTTPClient *http.Client
}

// ClusterMove is one cluster a bundle moves to another version of its
// distro.
type ClusterMove struct {
	Cluster string `json:"cluster"`
	Distro  string `json:"distro"`
	From    string `json:"from"`
	To      string `json:"to"`
	// Spec is the bundle path of the cluster spec PUT to BDE.
	Spec string `json:"spec"`
}

// ClusterConfigPlan is the clusters step of a deploy: BDE is read before
// vCenter is contacted; the changes are made after the upload.
type ClusterConfigPlan struct {
	// Server is BDE's /serengeti URL ("" when none is given).
	Server string        `json:"server,omitempty"`
	Moves  []ClusterMove `json:"moves"`
	// Changes are the clusters step's plan (outsite.Change), unchanged
	// clusters and node groups included.
	Changes []outsite.Change `json:"changes"`
	// Unread is why BDE could not be read for the plan ("" when it was):
	// the deploy still uploads, then fails the step with this error.
	Unread string `json:"unread,omitempty"`
	// LeftOut says why the step will not run ("" when it will).
	LeftOut string `json:"left_out,omitempty"`
	// Warnings are things to know before running it.
	Warnings []string `json:"warnings,omitempty"`

	step               *clusters.Step
	readErr            error
	noManagementServer bool
}

const noManagementServerWarning = "BDE runs Chef from the tree the management server serves, and this target copies nothing into it (no management_server): copy serengeti/ into /opt/serengeti (and restart tomcat on BDE 2.2) before the clusters step runs, or name the management server."

// Planned counts the writes of the step (the moves when BDE could not be
// read).
func (p *ClusterConfigPlan) Planned() int {
	if p == nil {
		return 0
	}
	if p.readErr != nil {
		return max(len(p.Moves), 1)
	}
	return outsite.Writes(p.Changes)
}

// ClusterConfigError is a clusters step that failed: BDE unreachable, a
// login refused, a call refused or a task that failed.
type ClusterConfigError struct {
	Cluster string
	Err     error
}

func (e *ClusterConfigError) Error() string {
	return fmt.Sprintf("clusters step at %s: %v (the bundle is deployed; run deploy again to finish: the upload is skipped, the clusters step plans again from what BDE has)", e.Cluster, e.Err)
}
func (e *ClusterConfigError) Unwrap() error { return e.Err }

// ClusterMoves lists the clusters m moves, by name.
func ClusterMoves(m *manifest.Manifest) []ClusterMove {
	var out []ClusterMove
	for _, c := range m.Clusters {
		if c.MovesFrom == "" {
			continue
		}
		mv := ClusterMove{Cluster: c.Name, Distro: c.Distro, From: c.MovesFrom, Spec: "clusters/" + c.Name + "/spec.json"}
		for _, d := range m.Distros {
			if d.Name == c.Distro {
				mv.To = d.Version
			}
		}
		out = append(out, mv)
	}
	return out
}

// planClusterConfig decides the clusters step of a deploy of m; a server or
// credentials that cannot be used are a *UsageError, before vCenter is
// contacted. It checks the specs but contacts nothing (readClusters does).
func planClusterConfig(m *manifest.Manifest, opts ClusterConfigOptions, managementServer string) (*ClusterConfigPlan, error) {
	p := &ClusterConfigPlan{Moves: ClusterMoves(m), Changes: []outsite.Change{}}
	if len(m.Clusters) == 0 {
		return p, nil
	}
	files := map[string]bool{}
	for _, f := range m.Files {
		files[f.Path] = true
	}
	for _, mv := range p.Moves {
		if !files[mv.Spec] {
			return nil, &UsageError{fmt.Errorf("cluster %s moves but the bundle has no %s", mv.Cluster, mv.Spec)}
		}
	}
	switch {
	case opts.Skip:
		p.LeftOut = "--skip-clusters"
		return p, nil
	case opts.Server == "":
		p.LeftOut = "no BDE server given (BDE_URL)"
		if len(p.Moves) > 0 {
			p.Warnings = append(p.Warnings, "the bundle moves clusters, but no BDE server is given (BDE_URL, or the older --bde-url and BUNDLE_BDE_URL): their nodes keep the old version until Chef runs on them again (cluster config or cluster start). Give the server, or --skip-clusters to leave the step out knowingly.")
		}
		return p, nil
	}
	c, err := bde.New(bde.Config{URL: opts.Server, Username: opts.Username, Password: opts.Password, Insecure: opts.Insecure, PollInterval: opts.PollInterval, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, &UsageError{fmt.Errorf("BDE server: %w (BDE_URL, BDE_USERNAME, BDE_PASSWORD; or the older --bde-url, --bde-user, BUNDLE_BDE_URL, BUNDLE_BDE_USERNAME, BUNDLE_BDE_PASSWORD)", err)}
	}
	if opts.Password == "" {
		return nil, &UsageError{errors.New("BDE server given without a password: set BDE_PASSWORD (or the older BUNDLE_BDE_PASSWORD; it is never read from a flag)")}
	}
	p.Server = c.Server()
	p.step = clusters.New(c, nil, clusters.Options{AllowShrink: opts.AllowShrink})
	p.noManagementServer = managementServer == ""
	if p.noManagementServer && len(p.Moves) > 0 {
		p.Warnings = append(p.Warnings, noManagementServerWarning)
	}
	return p, nil
}

// readClusters loads the specs of the bundle in dir and reads BDE for the
// plan. BDE that cannot be read is an error in a dry run; otherwise it is
// kept, the upload goes ahead and the step fails after it.
func readClusters(ctx context.Context, dir string, m *manifest.Manifest, p *ClusterConfigPlan, dryRun bool) error {
	if p == nil || p.step == nil || p.LeftOut != "" {
		return nil
	}
	specs, err := clusters.LoadSpecs(dir, m)
	if err != nil {
		return err
	}
	p.step.SetSpecs(specs)
	changes, err := p.step.Plan(ctx)
	if err != nil {
		if dryRun || ctx.Err() != nil {
			return &ClusterConfigError{Cluster: p.Server, Err: err}
		}
		p.readErr, p.Unread = err, err.Error()
		return nil
	}
	p.Changes = changes
	// The warning holds only when Chef is to run.
	runsChef := false
	for _, c := range changes {
		runsChef = runsChef || c.Writes()
	}
	p.Warnings = slices.DeleteFunc(p.Warnings, func(w string) bool { return w == noManagementServerWarning })
	if runsChef && p.noManagementServer {
		p.Warnings = append(p.Warnings, noManagementServerWarning)
	}
	return nil
}

// closeClusters logs out of BDE, if logged in.
func closeClusters(ctx context.Context, p *ClusterConfigPlan) {
	if p == nil || p.step == nil {
		return
	}
	if err := p.step.Close(ctx); err != nil {
		slog.Warn("logging out of BDE", "err", err)
	}
}

// runClusterConfig makes the planned changes of the clusters step and
// returns the names of the clusters and node groups changed. It stops at
// the first failure; a re-run plans again from what BDE has then.
func runClusterConfig(ctx context.Context, p *ClusterConfigPlan, opts ClusterConfigOptions) (done []string, err error) {
	if p == nil || p.step == nil || p.LeftOut != "" {
		return nil, nil
	}
	if p.readErr != nil {
		return nil, &ClusterConfigError{Cluster: p.Server, Err: p.readErr}
	}
	var writes, apply []outsite.Change
	for _, c := range p.Changes {
		if c.Writes() {
			writes = append(writes, c)
		}
		if c.Writes() || c.Action == outsite.ActionBusy {
			apply = append(apply, c)
		}
	}
	if len(apply) == 0 {
		return nil, nil
	}
	err = p.step.Apply(ctx, apply, opts.Progress)
	var ce *clusters.ChangeError
	failed := len(writes)
	if errors.As(err, &ce) {
		for i, c := range writes {
			if c == ce.Change {
				failed = i
				break
			}
		}
	} else if err != nil {
		failed = 0
	}
	for _, c := range writes[:failed] {
		if !slices.Contains(done, c.Name) {
			done = append(done, c.Name)
		}
	}
	if err != nil {
		name := p.Server
		if ce != nil {
			name = ce.Change.Name
		}
		return done, &ClusterConfigError{Cluster: name, Err: err}
	}
	return done, nil
}

// The BDE types the CLI prints and maps to exit codes, so it needs no
// import of out/bde.
type (
	// BDETask is a BDE task as polled.
	BDETask = bde.Task
	// BDEUnreachableError is a BDE server that could not be reached.
	BDEUnreachableError = bde.UnreachableError
	// BDEAuthError is a login BDE refused.
	BDEAuthError = bde.AuthError
)
