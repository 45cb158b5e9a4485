package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/bde"
	"github.com/bdebundle/bundle/out/manifest"
)

// ClusterConfigOptions say whether and how deploy runs BDE's cluster
// config on the clusters a bundle moves (bundle.json moves_from), after
// the upload.
type ClusterConfigOptions struct {
	// Skip leaves the step out (--no-cluster-config).
	Skip bool
	// Server, Username and Password reach BDE's REST API; without a
	// server the step is left out with a warning.
	Server, Username, Password string
	// Insecure skips the TLS certificate check of the server.
	Insecure bool
	// PollInterval is the time between task polls (0: BDE CLI's 3 s).
	PollInterval time.Duration
	// Progress sees every poll of a cluster's task.
	Progress func(cluster string, t bde.Task)
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

// ClusterConfigPlan is the REST step of a deploy: it runs first in the
// plan's listing, last in time (after the upload).
type ClusterConfigPlan struct {
	// Server is BDE's /serengeti URL ("" when none is given).
	Server string        `json:"server,omitempty"`
	Moves  []ClusterMove `json:"moves"`
	// LeftOut says why the step will not run ("" when it will).
	LeftOut string `json:"left_out,omitempty"`
	// Warnings are things to know before running it.
	Warnings []string `json:"warnings,omitempty"`

	client *bde.Client
}

// ClusterConfigError is a cluster config that failed: BDE unreachable, a
// login refused, a call refused or a task that failed.
type ClusterConfigError struct {
	Cluster string
	Err     error
}

func (e *ClusterConfigError) Error() string {
	return fmt.Sprintf("cluster config of %s: %v (the bundle is deployed; run deploy again to retry: the upload is skipped, cluster config runs again)", e.Cluster, e.Err)
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

// planClusterConfig decides the REST step of a deploy of m; a server or
// credentials that cannot be used are a *UsageError, before vCenter is
// contacted.
func planClusterConfig(m *manifest.Manifest, opts ClusterConfigOptions, managementServer string) (*ClusterConfigPlan, error) {
	p := &ClusterConfigPlan{Moves: ClusterMoves(m)}
	if len(p.Moves) == 0 {
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
		p.LeftOut = "--no-cluster-config"
		return p, nil
	case opts.Server == "":
		p.LeftOut = "no BDE server given (--bde-url or BUNDLE_BDE_URL)"
		p.Warnings = append(p.Warnings, "the bundle moves clusters, but no BDE server is given (--bde-url or BUNDLE_BDE_URL): their nodes keep the old version until Chef runs on them again (cluster config or cluster start). Give the server, or --no-cluster-config to leave the step out knowingly.")
		return p, nil
	}
	c, err := bde.New(bde.Config{URL: opts.Server, Username: opts.Username, Password: opts.Password, Insecure: opts.Insecure, PollInterval: opts.PollInterval})
	if err != nil {
		return nil, &UsageError{fmt.Errorf("BDE server: %w (--bde-url, --bde-user, BUNDLE_BDE_URL, BUNDLE_BDE_USERNAME, BUNDLE_BDE_PASSWORD)", err)}
	}
	if opts.Password == "" {
		return nil, &UsageError{errors.New("BDE server given without a password: set BUNDLE_BDE_PASSWORD (it is never read from a flag)")}
	}
	p.Server, p.client = c.Server(), c
	if managementServer == "" {
		p.Warnings = append(p.Warnings, "cluster config re-runs Chef from the tree the management server serves, and this target copies nothing into it (no management_server): copy serengeti/ into /opt/serengeti (and restart tomcat on BDE 2.2) before the step runs, or name the management server.")
	}
	return p, nil
}

// runClusterConfig logs in, PUTs each moved cluster's spec from the bundle
// in dir, waits for each task and logs out. It stops at the first failure;
// a re-run runs every move again (Chef converges, so a cluster already
// moved stays as it is).
func runClusterConfig(ctx context.Context, dir string, p *ClusterConfigPlan, opts ClusterConfigOptions) (done []string, err error) {
	if p == nil || p.client == nil || p.LeftOut != "" || len(p.Moves) == 0 {
		return nil, nil
	}
	c := p.client
	if err := c.Login(ctx); err != nil {
		return nil, &ClusterConfigError{Cluster: p.Moves[0].Cluster, Err: err}
	}
	defer func() {
		// The logout runs even when the deploy was interrupted.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if lerr := c.Logout(lctx); lerr != nil {
			slog.Warn("logging out of BDE", "err", lerr)
		}
	}()
	for _, mv := range p.Moves {
		spec, err := regular.ReadFile(filepath.Join(dir, filepath.FromSlash(mv.Spec)), manifest.MaxMetaSize)
		if err != nil {
			return done, fmt.Errorf("reading %q: %w", mv.Spec, err)
		}
		slog.Info("cluster config", "cluster", mv.Cluster, "distro", mv.Distro, "from", mv.From, "to", mv.To)
		var progress func(bde.Task)
		if opts.Progress != nil {
			progress = func(t bde.Task) { opts.Progress(mv.Cluster, t) }
		}
		if _, err := c.ConfigCluster(ctx, mv.Cluster, spec, progress); err != nil {
			return done, &ClusterConfigError{Cluster: mv.Cluster, Err: err}
		}
		done = append(done, mv.Cluster)
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
