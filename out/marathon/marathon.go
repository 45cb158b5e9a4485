package marathon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bdebundle/bundle/out/internal/siteapi"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/site"
)

// LabelDigest is the label that carries the bundle's digest of an app's
// definition.
const LabelDigest = "bundle.sha256"

// Config says how to reach Marathon and how long to wait.
type Config struct {
	// URL is Marathon's base URL ("host" means http://host:8080). Plain
	// http needs Insecure unless the host is loopback.
	URL      string
	Insecure bool
	// Username and Password, when set, go in HTTP basic auth (a Marathon
	// started with --http_credentials); the password is never printed.
	Username, Password string
	// Force makes the PUT override a deployment in progress (?force=true).
	Force bool
	// Wait bounds the wait for one app's deployment and health; 0 is 10
	// minutes.
	Wait time.Duration
	// Poll is the time between two polls; 0 is 2 s.
	Poll time.Duration
	// Timeout bounds each request (0: 30 s).
	Timeout time.Duration
	// HTTPClient, when set, carries the requests (tests).
	HTTPClient *http.Client
}

// App is one app of the bundle: its Marathon id and its definition as the
// bundle renders it.
type App struct {
	ID         string
	File       string // the bundle file it came from, for messages
	Cluster    string // the cluster whose Marathon runs it
	Definition []byte
}

// LoadApps reads the apps of a verified bundle directory
// (clusters/<cluster>/marathon/<app>.json, as bundle.json lists them); a
// cluster other than "" keeps only that cluster's.
func LoadApps(dir string, m *manifest.Manifest, cluster string) ([]App, error) {
	fs, err := siteapi.LoadBundleFiles(dir, m, "marathon")
	if err != nil {
		return nil, err
	}
	var out []App
	for _, f := range fs {
		if cluster == "" || f.Cluster == cluster {
			out = append(out, App{File: f.Path, Cluster: f.Cluster, Definition: f.Data})
		}
	}
	return out, nil
}

// Step brings a Marathon's apps to the bundle's.
type Step struct {
	c     *siteapi.Client
	cfg   Config
	apps  []want
	byID  map[string]*want
	sleep func(context.Context, time.Duration) error
}

type want struct {
	id     string
	file   string
	def    map[string]any // with the digest label
	body   []byte         // the PUT body
	digest string
	inst   int
	health bool
	deps   []string // ids of the apps it depends on
}

// New checks the apps and the URL; it contacts nothing.
func New(cfg Config, apps []App) (*Step, error) {
	u, err := siteapi.ParseURL("Marathon", cfg.URL, cfg.Insecure, "8080")
	if err != nil {
		return nil, err
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if err := oneCluster(apps); err != nil {
		return nil, err
	}
	s := &Step{c: siteapi.New("Marathon", u, cfg.Insecure, cfg.Timeout, cfg.HTTPClient), cfg: cfg, byID: map[string]*want{}, sleep: sleep}
	s.c.SetBasicAuth(cfg.Username, cfg.Password)
	for _, a := range apps {
		w, err := prepare(a)
		if err != nil {
			return nil, err
		}
		if s.byID[w.id] != nil {
			return nil, fmt.Errorf("app %s is defined twice (%s and %s)", w.id, s.byID[w.id].file, w.file)
		}
		s.apps = append(s.apps, w)
		s.byID[w.id] = &s.apps[len(s.apps)-1]
	}
	slices.SortFunc(s.apps, func(a, b want) int { return strings.Compare(a.id, b.id) })
	if s.apps, err = order(s.apps); err != nil {
		return nil, err
	}
	for i := range s.apps {
		s.byID[s.apps[i].id] = &s.apps[i]
	}
	return s, nil
}

// order puts every app after the apps of the bundle it depends on
// (Marathon 0.8's dependencies), else by id; a cycle is an error.
func order(apps []want) ([]want, error) {
	byID := map[string]*want{}
	for i := range apps {
		byID[apps[i].id] = &apps[i]
	}
	var out []want
	state := map[string]int{}
	var visit func(w *want, path []string) error
	visit = func(w *want, path []string) error {
		switch state[w.id] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("apps %s depend on each other in a cycle", strings.Join(append(path, w.id), " → "))
		}
		state[w.id] = 1
		for _, d := range w.deps {
			if dw := byID[d]; dw != nil {
				if err := visit(dw, append(path, w.id)); err != nil {
					return err
				}
			}
		}
		state[w.id] = 2
		out = append(out, *w)
		return nil
	}
	for i := range apps {
		if err := visit(&apps[i], nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// oneCluster refuses apps of two clusters: each cluster has its Marathon.
func oneCluster(apps []App) error {
	for _, a := range apps {
		if a.Cluster != apps[0].Cluster {
			return fmt.Errorf("apps of clusters %q and %q: each cluster runs its own Marathon, and one step talks to one; choose the cluster", apps[0].Cluster, a.Cluster)
		}
	}
	return nil
}

func prepare(a App) (want, error) {
	var m map[string]any
	if err := siteapi.Decode(a.Definition, &m); err != nil {
		return want{}, fmt.Errorf("reading app %q: %w", a.File, err)
	}
	id, _ := m["id"].(string)
	if a.ID != "" && id != a.ID {
		return want{}, fmt.Errorf("reading app %q: its id is %q, not %q", a.File, id, a.ID)
	}
	if !strings.HasPrefix(id, "/") {
		id = "/" + id
	}
	if id == "/" || strings.ContainsAny(id, "?#% ") {
		return want{}, fmt.Errorf("reading app %q: %q is not a Marathon app id", a.File, id)
	}
	m["id"] = id
	canon, err := json.Marshal(m)
	if err != nil {
		return want{}, fmt.Errorf("reading app %q: %w", a.File, err)
	}
	sum := sha256.Sum256(canon)
	dg := hex.EncodeToString(sum[:])
	labels, _ := m["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
	}
	labels[LabelDigest] = dg
	m["labels"] = labels
	body, err := json.Marshal(m)
	if err != nil {
		return want{}, fmt.Errorf("reading app %q: %w", a.File, err)
	}
	inst := 1
	if n, ok := m["instances"].(json.Number); ok {
		v, err := n.Int64()
		if err != nil || v < 0 {
			return want{}, fmt.Errorf("reading app %q: instances %s is not a count", a.File, n)
		}
		inst = int(v)
	}
	hc, _ := m["healthChecks"].([]any)
	var deps []string
	if ds, ok := m["dependencies"].([]any); ok {
		for _, d := range ds {
			if s, ok := d.(string); ok {
				deps = append(deps, s)
			}
		}
	}
	return want{id: id, file: a.File, def: m, body: body, digest: dg, inst: inst, health: len(hc) > 0, deps: deps}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Name is the step's name in a deploy.
func (s *Step) Name() string { return "apps" }

var _ site.Step = (*Step)(nil)

// Server is Marathon's base URL.
func (s *Step) Server() string { return s.c.Server() }

// remote is what Marathon says of an app.
type remote struct {
	app          map[string]any
	version      string
	instances    int
	running      int
	healthy      int
	deployments  []string
	digestOnSite string
}

func appPath(id string) string {
	segs := strings.Split(strings.TrimPrefix(id, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/v2/apps/" + strings.Join(segs, "/")
}

// get returns the app as Marathon has it, or nil when it does not exist.
func (s *Step) get(ctx context.Context, id string) (*remote, error) {
	p := appPath(id)
	st, b, err := s.c.Do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case st == http.StatusNotFound:
		return nil, nil
	case st != http.StatusOK:
		return nil, s.c.Refused(http.MethodGet, p, st, b)
	}
	var env struct {
		App map[string]any `json:"app"`
	}
	if err := siteapi.Decode(b, &env); err != nil {
		return nil, s.c.Garbage(http.MethodGet, p, err)
	}
	if env.App == nil {
		return nil, s.c.Garbage(http.MethodGet, p, errors.New(`no "app" object`))
	}
	if got, _ := env.App["id"].(string); got != id {
		return nil, s.c.Garbage(http.MethodGet, p, fmt.Errorf("it describes app %q", got))
	}
	a := &remote{app: env.App}
	a.version, _ = env.App["version"].(string)
	a.instances = num(env.App["instances"])
	a.running = num(env.App["tasksRunning"])
	a.healthy = num(env.App["tasksHealthy"])
	if ls, ok := env.App["labels"].(map[string]any); ok {
		a.digestOnSite, _ = ls[LabelDigest].(string)
	}
	if ds, ok := env.App["deployments"].([]any); ok {
		for _, d := range ds {
			if m, ok := d.(map[string]any); ok {
				if id, ok := m["id"].(string); ok {
					a.deployments = append(a.deployments, id)
				}
			}
		}
	}
	return a, nil
}

func num(v any) int {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
	}
	return 0
}

// Plan says, per app, whether Apply creates it, updates it or leaves it.
// It only reads.
func (s *Step) Plan(ctx context.Context) ([]site.Change, error) {
	var out []site.Change
	for _, w := range s.apps {
		have, err := s.get(ctx, w.id)
		if err != nil {
			return nil, fmt.Errorf("planning app %s: %w", w.id, err)
		}
		out = append(out, change(w, have))
	}
	return out, nil
}

func change(w want, have *remote) site.Change {
	c := site.Change{Kind: "app", Name: w.id}
	if have == nil {
		c.Action = "create"
		c.Detail = fmt.Sprintf("PUT %s: %d instances, digest %s", appPath(w.id), w.inst, w.digest[:12])
		return c
	}
	d := differences(w, have)
	if len(d) == 0 {
		c.Action = "unchanged"
		c.Detail = fmt.Sprintf("version %s matches the bundle", have.version)
		return c
	}
	c.Action = "update"
	c.Detail = fmt.Sprintf("PUT %s: %s", appPath(w.id), siteapi.Summary(d))
	if len(have.deployments) > 0 {
		// Said in the plan: the PUT will be refused (409) unless forced.
		c.Detail += fmt.Sprintf("; deployment %s is running on it (refused unless forced)", strings.Join(have.deployments, ", "))
	}
	return c
}

// ConflictError is a PUT Marathon refused with 409: a deployment in
// progress holds the app.
type ConflictError struct {
	App         string
	Deployments []string
	Message     string
}

func (e *ConflictError) Error() string {
	ds := "a deployment"
	if len(e.Deployments) > 0 {
		ds = "deployment " + strings.Join(e.Deployments, ", ")
	}
	return fmt.Sprintf("Marathon refused to change app %s: %s is still running on it (409: %s). Wait for it to finish (GET /v2/deployments) and re-run, or re-run with force (bundle deploy --force-apps) to cancel it and deploy the bundle's definition", e.App, ds, e.Message)
}

// WaitError is an app whose deployment or health did not come within the
// wait.
type WaitError struct {
	App, What string
	Wait      time.Duration
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("app %s: %s after %s; Marathon goes on deploying it, and `bundle status` shows it", e.App, e.What, e.Wait)
}

// Apply makes the planned writes, in order, and waits for each app's
// deployment and health before the next.
func (s *Step) Apply(ctx context.Context, changes []site.Change, progress func(site.Progress)) error {
	if progress == nil {
		progress = func(site.Progress) {}
	}
	for _, c := range changes {
		if c.Kind != "app" || !c.Writes() {
			continue
		}
		w := s.byID[c.Name]
		if w == nil {
			return fmt.Errorf("the plan names app %s, which the bundle does not have", c.Name)
		}
		if c.Action != "create" && c.Action != "update" {
			return fmt.Errorf("app %s: unknown action %q", c.Name, c.Action)
		}
		progress(site.Progress{Change: c, Fraction: -1, Message: "PUT " + appPath(w.id)})
		dep, err := s.put(ctx, w)
		if err != nil {
			return err
		}
		if err := s.wait(ctx, w, dep, func(m string) { progress(site.Progress{Change: c, Fraction: -1, Message: m}) }); err != nil {
			return err
		}
		progress(site.Progress{Change: c, Fraction: -1, Message: "healthy"})
	}
	return nil
}

func (s *Step) put(ctx context.Context, w *want) (string, error) {
	p := appPath(w.id)
	if s.cfg.Force {
		p += "?force=true"
	}
	st, b, err := s.c.Do(ctx, http.MethodPut, p, w.body)
	if err != nil {
		return "", fmt.Errorf("updating app %s: %w", w.id, err)
	}
	switch st {
	case http.StatusOK, http.StatusCreated:
	case http.StatusConflict:
		var m struct {
			Message     string `json:"message"`
			Deployments []struct {
				ID string `json:"id"`
			} `json:"deployments"`
		}
		_ = json.Unmarshal(b, &m)
		e := &ConflictError{App: w.id, Message: m.Message}
		for _, d := range m.Deployments {
			e.Deployments = append(e.Deployments, d.ID)
		}
		return "", e
	default:
		return "", s.c.Refused(http.MethodPut, p, st, b)
	}
	var r struct {
		DeploymentID string `json:"deploymentId"`
		Version      string `json:"version"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", s.c.Garbage(http.MethodPut, p, err)
	}
	return r.DeploymentID, nil
}

// wait polls until the deployment is gone and the app is healthy, within
// the wait.
func (s *Step) wait(ctx context.Context, w *want, dep string, say func(string)) error {
	deadline := time.Now().Add(s.cfg.Wait)
	if dep != "" {
		for {
			ids, err := s.deployments(ctx)
			if err != nil {
				return fmt.Errorf("waiting for app %s: %w", w.id, err)
			}
			if !slices.Contains(ids, dep) {
				break
			}
			if time.Now().After(deadline) {
				return &WaitError{App: w.id, What: "deployment " + dep + " is still running", Wait: s.cfg.Wait}
			}
			say("deployment " + dep + " running")
			if err := s.sleep(ctx, s.cfg.Poll); err != nil {
				return err
			}
		}
	}
	for {
		have, err := s.get(ctx, w.id)
		if err != nil {
			return fmt.Errorf("waiting for app %s: %w", w.id, err)
		}
		if have == nil {
			return fmt.Errorf("waiting for app %s: Marathon no longer has it", w.id)
		}
		n, what := have.running, "running"
		if w.health {
			n, what = have.healthy, "healthy"
		}
		if n >= w.inst {
			return nil
		}
		if time.Now().After(deadline) {
			return &WaitError{App: w.id, What: fmt.Sprintf("%d of %d tasks %s", n, w.inst, what), Wait: s.cfg.Wait}
		}
		say(fmt.Sprintf("%d/%d %s", n, w.inst, what))
		if err := s.sleep(ctx, s.cfg.Poll); err != nil {
			return err
		}
	}
}

func (s *Step) deployments(ctx context.Context) ([]string, error) {
	const p = "/v2/deployments"
	st, b, err := s.c.Do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, s.c.Refused(http.MethodGet, p, st, b)
	}
	var ds []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, s.c.Garbage(http.MethodGet, p, err)
	}
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// Status says, per app, what the bundle wants and what Marathon has. It
// only reads.
func (s *Step) Status(ctx context.Context) ([]site.Status, error) {
	var out []site.Status
	for _, w := range s.apps {
		have, err := s.get(ctx, w.id)
		if err != nil {
			return nil, fmt.Errorf("status of app %s: %w", w.id, err)
		}
		r := site.Status{Kind: "app", Name: w.id, Want: fmt.Sprintf("digest %s, %d instances", w.digest[:12], w.inst)}
		if have == nil {
			r.Have = "missing"
			out = append(out, r)
			continue
		}
		d := differences(w, have)
		n, what := have.running, "running"
		if w.health {
			n, what = have.healthy, "healthy"
		}
		r.Have = fmt.Sprintf("version %s, %d/%d %s", have.version, n, have.instances, what)
		if len(d) > 0 {
			r.Have += "; " + siteapi.Summary(d)
		}
		if len(have.deployments) > 0 {
			r.Have += "; deploying"
		}
		r.OK = len(d) == 0 && n >= w.inst && len(have.deployments) == 0
		out = append(out, r)
	}
	return out, nil
}

// differences compares the bundle's definition with Marathon's app; a port
// of 0 (Marathon assigns one) matches any port.
func differences(w want, have *remote) []string {
	return siteapi.DifferencesWild(w.def, have.app, func(path string, v any) bool {
		n, ok := v.(json.Number)
		if !ok || n.String() != "0" {
			return false
		}
		return strings.HasPrefix(path, "ports[") || strings.HasSuffix(path, ".servicePort") || strings.HasSuffix(path, ".hostPort")
	})
}
