package chronos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/iso8601"
	"github.com/bdebundle/bundle/out/internal/siteapi"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/site"
)

// Config says how to reach Chronos.
type Config struct {
	// URL is Chronos' base URL ("host" means http://host:4400). Plain
	// http needs Insecure unless the host is loopback.
	URL      string
	Insecure bool
	// Username and Password, when set, go in HTTP basic auth (a Chronos
	// started with --http_credentials); the password is never printed.
	Username, Password string
	// Timeout bounds each request (0: 30 s).
	Timeout time.Duration
	// HTTPClient, when set, carries the requests (tests).
	HTTPClient *http.Client
}

// Job is one job of the bundle as it renders it.
type Job struct {
	File       string
	Cluster    string // the cluster whose Chronos runs it
	Definition []byte
}

// LoadJobs reads the jobs of a verified bundle directory
// (clusters/<cluster>/chronos/<job>.json, as bundle.json lists them); a
// cluster other than "" keeps only that cluster's.
func LoadJobs(dir string, m *manifest.Manifest, cluster string) ([]Job, error) {
	fs, err := siteapi.LoadBundleFiles(dir, m, "chronos")
	if err != nil {
		return nil, err
	}
	var out []Job
	for _, f := range fs {
		if cluster == "" || f.Cluster == cluster {
			out = append(out, Job{File: f.Path, Cluster: f.Cluster, Definition: f.Data})
		}
	}
	return out, nil
}

// Step brings a Chronos' jobs to the bundle's.
type Step struct {
	c      *siteapi.Client
	jobs   []want // in apply order: scheduled jobs, then children after parents
	byName map[string]*want
}

type want struct {
	name     string
	file     string
	def      map[string]any
	body     []byte
	schedule string
	parents  []string
}

// New checks the jobs and the URL; it contacts nothing.
func New(cfg Config, jobs []Job) (*Step, error) {
	u, err := siteapi.ParseURL("Chronos", cfg.URL, cfg.Insecure, "4400")
	if err != nil {
		return nil, err
	}
	s := &Step{c: siteapi.New("Chronos", u, cfg.Insecure, cfg.Timeout, cfg.HTTPClient), byName: map[string]*want{}}
	s.c.SetBasicAuth(cfg.Username, cfg.Password)
	for _, j := range jobs {
		if j.Cluster != jobs[0].Cluster {
			return nil, fmt.Errorf("jobs of clusters %q and %q: each cluster runs its own Chronos, and one step talks to one; choose the cluster", jobs[0].Cluster, j.Cluster)
		}
	}
	var all []want
	seen := map[string]string{}
	for _, j := range jobs {
		w, err := prepare(j)
		if err != nil {
			return nil, err
		}
		if f, ok := seen[w.name]; ok {
			return nil, fmt.Errorf("job %q is defined twice (%s and %s)", w.name, f, w.file)
		}
		seen[w.name] = w.file
		all = append(all, w)
	}
	s.jobs, err = order(all)
	if err != nil {
		return nil, err
	}
	for i := range s.jobs {
		s.byName[s.jobs[i].name] = &s.jobs[i]
	}
	return s, nil
}

func prepare(j Job) (want, error) {
	var m map[string]any
	if err := siteapi.Decode(j.Definition, &m); err != nil {
		return want{}, fmt.Errorf("reading job %q: %w", j.File, err)
	}
	w := want{file: j.File, def: m}
	w.name, _ = m["name"].(string)
	if w.name == "" {
		return want{}, fmt.Errorf("reading job %q: no name", j.File)
	}
	w.schedule, _ = m["schedule"].(string)
	if ps, ok := m["parents"].([]any); ok {
		for _, p := range ps {
			s, _ := p.(string)
			w.parents = append(w.parents, s)
		}
	}
	switch {
	case w.schedule != "" && len(w.parents) > 0:
		return want{}, fmt.Errorf("reading job %q: it has both a schedule and parents", j.File)
	case w.schedule == "" && len(w.parents) == 0:
		return want{}, fmt.Errorf("reading job %q: it has neither a schedule nor parents", j.File)
	case w.schedule != "":
		if _, err := iso8601.Parse(w.schedule); err != nil {
			return want{}, fmt.Errorf("reading job %q: %w", j.File, err)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return want{}, fmt.Errorf("reading job %q: %w", j.File, err)
	}
	w.body = b
	return w, nil
}

// order puts scheduled jobs first (by name), then each dependent job after
// its parents among the bundle's jobs; a cycle is an error.
func order(all []want) ([]want, error) {
	slices.SortFunc(all, func(a, b want) int { return strings.Compare(a.name, b.name) })
	byName := map[string]*want{}
	for i := range all {
		byName[all[i].name] = &all[i]
	}
	var out []want
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(w *want, path []string) error
	visit = func(w *want, path []string) error {
		switch state[w.name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("jobs %s depend on each other in a cycle", strings.Join(append(path, w.name), " → "))
		}
		state[w.name] = 1
		for _, p := range w.parents {
			if pw := byName[p]; pw != nil {
				if err := visit(pw, append(path, w.name)); err != nil {
					return err
				}
			}
		}
		state[w.name] = 2
		out = append(out, *w)
		return nil
	}
	for i := range all {
		if all[i].schedule != "" {
			if err := visit(&all[i], nil); err != nil {
				return nil, err
			}
		}
	}
	for i := range all {
		if err := visit(&all[i], nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Name is the step's name in a deploy.
func (s *Step) Name() string { return "jobs" }

var _ site.Step = (*Step)(nil)

// Server is Chronos' base URL.
func (s *Step) Server() string { return s.c.Server() }

func (s *Step) list(ctx context.Context) (map[string]map[string]any, error) {
	const p = "/scheduler/jobs"
	st, b, err := s.c.Do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, s.c.Refused(http.MethodGet, p, st, b)
	}
	var jobs []map[string]any
	if err := siteapi.Decode(b, &jobs); err != nil {
		return nil, s.c.Garbage(http.MethodGet, p, err)
	}
	out := map[string]map[string]any{}
	for _, j := range jobs {
		n, _ := j["name"].(string)
		if n == "" {
			return nil, s.c.Garbage(http.MethodGet, p, fmt.Errorf("a job without a name"))
		}
		out[n] = j
	}
	return out, nil
}

// differences compares a bundle job with Chronos'; the schedule is
// compared as Chronos moves it (see the package doc).
func differences(w *want, have map[string]any) []string {
	ct, _ := have["container"].(map[string]any)
	d := siteapi.DifferencesWild(w.def, have, func(path string, v any) bool {
		switch path {
		case "schedule":
			return true
		case "container.type", "container.network":
			// Enumerations Chronos may write back in another case.
			ws, _ := v.(string)
			hs, _ := ct[strings.TrimPrefix(path, "container.")].(string)
			return strings.EqualFold(ws, hs)
		}
		return false
	})
	if w.schedule != "" {
		hs, _ := have["schedule"].(string)
		if !sameSchedule(w.schedule, hs) {
			d = append(d, "schedule")
			slices.Sort(d)
		}
	}
	return d
}

func sameSchedule(want, have string) bool {
	if want == have {
		return true
	}
	a, err1 := iso8601.Parse(want)
	b, err2 := iso8601.Parse(have)
	if err1 != nil || err2 != nil {
		return false
	}
	if a.Period != b.Period || b.Start.Before(a.Start) {
		return false
	}
	if a.Repeats < 0 {
		return b.Repeats < 0
	}
	return b.Repeats >= 0 && b.Repeats <= a.Repeats
}

func endpoint(w *want) string {
	if w.schedule != "" {
		return "/scheduler/iso8601"
	}
	return "/scheduler/dependency"
}

// Plan says, per job, whether Apply creates it, updates it or leaves it,
// in the order Apply writes. It only reads.
func (s *Step) Plan(ctx context.Context) ([]site.Change, error) {
	have, err := s.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("planning jobs: %w", err)
	}
	var out []site.Change
	for i := range s.jobs {
		w := &s.jobs[i]
		c := site.Change{Kind: "job", Name: w.name}
		h := have[w.name]
		switch {
		case h == nil:
			c.Action, c.Detail = "create", "POST "+endpoint(w)+": "+describe(w)
		default:
			if d := differences(w, h); len(d) > 0 {
				c.Action, c.Detail = "update", "POST "+endpoint(w)+": "+siteapi.Summary(d)
			} else {
				c.Action, c.Detail = "unchanged", describe(w)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func describe(w *want) string {
	if w.schedule != "" {
		return "schedule " + w.schedule
	}
	return "after " + strings.Join(w.parents, ", ")
}

// Apply posts the planned jobs, parents before children, then reads the
// jobs back.
func (s *Step) Apply(ctx context.Context, changes []site.Change, progress func(site.Progress)) error {
	if progress == nil {
		progress = func(site.Progress) {}
	}
	todo := map[string]site.Change{}
	for _, c := range changes {
		if c.Kind != "job" || !c.Writes() {
			continue
		}
		if s.byName[c.Name] == nil {
			return fmt.Errorf("the plan names job %q, which the bundle does not have", c.Name)
		}
		if c.Action != "create" && c.Action != "update" {
			return fmt.Errorf("job %q: unknown action %q", c.Name, c.Action)
		}
		todo[c.Name] = c
	}
	if len(todo) == 0 {
		return nil
	}
	for i := range s.jobs {
		w := &s.jobs[i]
		c, ok := todo[w.name]
		if !ok {
			continue
		}
		p := endpoint(w)
		progress(site.Progress{Change: c, Fraction: -1, Message: "POST " + p})
		st, b, err := s.c.Do(ctx, http.MethodPost, p, w.body)
		if err != nil {
			return fmt.Errorf("posting job %q: %w", w.name, err)
		}
		if st != http.StatusNoContent && st != http.StatusOK && st != http.StatusCreated {
			return fmt.Errorf("posting job %q: %w", w.name, s.c.Refused(http.MethodPost, p, st, b))
		}
	}
	have, err := s.list(ctx)
	if err != nil {
		return fmt.Errorf("reading the jobs back: %w", err)
	}
	for i := range s.jobs {
		w := &s.jobs[i]
		if _, ok := todo[w.name]; !ok {
			continue
		}
		h := have[w.name]
		if h == nil {
			return fmt.Errorf("job %q: Chronos accepted it but does not list it", w.name)
		}
		if d := differences(w, h); len(d) > 0 {
			return fmt.Errorf("job %q: Chronos accepted it but holds another: %s", w.name, siteapi.Summary(d))
		}
		progress(site.Progress{Change: todo[w.name], Fraction: -1, Message: "done"})
	}
	return nil
}

// Status says, per job, what the bundle wants and what Chronos has. It
// only reads.
func (s *Step) Status(ctx context.Context) ([]site.Status, error) {
	have, err := s.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("status of jobs: %w", err)
	}
	var out []site.Status
	for i := range s.jobs {
		w := &s.jobs[i]
		r := site.Status{Kind: "job", Name: w.name, Want: describe(w)}
		h := have[w.name]
		if h == nil {
			r.Have = "missing"
			out = append(out, r)
			continue
		}
		hw := want{}
		hw.schedule, _ = h["schedule"].(string)
		if ps, ok := h["parents"].([]any); ok {
			for _, p := range ps {
				s, _ := p.(string)
				hw.parents = append(hw.parents, s)
			}
		}
		r.Have = describe(&hw)
		if ls, _ := h["lastSuccess"].(string); ls != "" {
			r.Have += ", last success " + ls
		}
		if le, _ := h["lastError"].(string); le != "" {
			r.Have += ", last error " + le
		}
		if dis, _ := h["disabled"].(bool); dis {
			r.Have += ", disabled"
		}
		d := differences(w, h)
		if len(d) > 0 {
			r.Have += "; " + siteapi.Summary(d)
		}
		r.OK = len(d) == 0
		out = append(out, r)
	}
	return out, nil
}
