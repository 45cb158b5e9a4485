package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/bde"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/site"
)

// ActionResume finishes a create that failed (PUT …/action?state=resume).
const ActionResume = "resume"

// Spec is one cluster of the bundle: its name and its spec as the bundle
// holds it.
type Spec struct {
	Name string
	// Path is the spec's path in the bundle (clusters/<name>/spec.json).
	Path string
	JSON []byte

	parsed spec
}

// spec is the part of a ClusterCreate the step compares.
type spec struct {
	Name          string         `json:"name"`
	Distro        string         `json:"distro"`
	DistroVendor  string         `json:"distroVendor"`
	DistroVersion string         `json:"distroVersion"`
	NodeGroups    []group        `json:"nodeGroups"`
	Configuration map[string]any `json:"configuration"`
}

type group struct {
	Name          string         `json:"name"`
	InstanceNum   int            `json:"instanceNum"`
	Configuration map[string]any `json:"configuration"`
}

// LoadSpecs reads the cluster specs of the bundle in dir, one per
// cluster of m, sorted by name.
func LoadSpecs(dir string, m *manifest.Manifest) ([]Spec, error) {
	var out []Spec
	for _, c := range m.Clusters {
		p := "clusters/" + c.Name + "/spec.json"
		b, err := regular.ReadFile(filepath.Join(dir, filepath.FromSlash(p)), manifest.MaxMetaSize)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", p, err)
		}
		s, err := ParseSpec(p, b)
		if err != nil {
			return nil, err
		}
		if s.Name != c.Name {
			return nil, fmt.Errorf("reading %q: it names cluster %q, bundle.json %q", p, s.Name, c.Name)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ParseSpec reads one cluster spec.
func ParseSpec(path string, b []byte) (Spec, error) {
	s := Spec{Path: path, JSON: b}
	if err := json.Unmarshal(b, &s.parsed); err != nil {
		return s, fmt.Errorf("reading %q: %w", path, err)
	}
	if s.parsed.Name == "" || s.parsed.Distro == "" || len(s.parsed.NodeGroups) == 0 {
		return s, fmt.Errorf("reading %q: a cluster spec needs a name, a distro and node groups", path)
	}
	s.Name = s.parsed.Name
	return s, nil
}

// Options tune the step.
type Options struct {
	// AllowShrink lets a node group shrink (--allow-shrink).
	AllowShrink bool
}

// Step is the clusters step against one BDE server.
type Step struct {
	c        *bde.Client
	specs    []Spec
	opts     Options
	loggedIn bool
	loginAt  time.Time
}

// sessionAge is how long a session is used before Apply logs in again: a
// deploy's upload between the plan and the writes may outlast BDE's
// session timeout (Tomcat's default is 30 minutes).
const sessionAge = 10 * time.Minute

var _ site.Step = (*Step)(nil)

// New returns the step of specs against the BDE of c; it contacts
// nothing until Plan, Apply or Status.
func New(c *bde.Client, specs []Spec, opts Options) *Step {
	return &Step{c: c, specs: specs, opts: opts}
}

// SetSpecs sets the bundle's clusters (before Plan).
func (s *Step) SetSpecs(specs []Spec) { s.specs = specs }

// Name is "clusters".
func (s *Step) Name() string { return "clusters" }

func (s *Step) login(ctx context.Context) error {
	if s.loggedIn {
		return nil
	}
	if err := s.c.Login(ctx); err != nil {
		return s.classify(err)
	}
	s.loggedIn, s.loginAt = true, time.Now()
	return nil
}

// Close logs out (when logged in); it runs even when ctx is done.
func (s *Step) Close(ctx context.Context) error {
	if !s.loggedIn {
		return nil
	}
	s.loggedIn = false
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.classify(s.c.Logout(lctx))
}

// classify makes BDE's errors the site's.
func (s *Step) classify(err error) error {
	if err == nil {
		return nil
	}
	var ue *bde.UnreachableError
	var ae *bde.AuthError
	var api *bde.APIError
	var tt *bde.TaskTimeoutError
	switch {
	case errors.As(err, &ae):
		return &site.AuthError{Service: "BDE", URL: s.c.Server(), User: ae.User, Err: err}
	case errors.As(err, &ue), errors.As(err, &tt),
		errors.As(err, &api) && api.ServerFault():
		return &site.UnavailableError{Service: "BDE", URL: s.c.Server(), Err: err}
	}
	return err
}

// site is what BDE has: the clusters by name and, for each, its spec.
type siteState struct {
	clusters map[string]bde.ClusterRead
	specs    map[string]spec
}

func (s *Step) read(ctx context.Context) (*siteState, error) {
	if err := s.login(ctx); err != nil {
		return nil, err
	}
	list, err := s.c.Clusters(ctx)
	if err != nil {
		return nil, s.classify(err)
	}
	st := &siteState{clusters: map[string]bde.ClusterRead{}, specs: map[string]spec{}}
	for _, c := range list {
		st.clusters[c.Name] = c
	}
	for _, want := range s.specs {
		if _, ok := st.clusters[want.Name]; !ok {
			continue
		}
		raw, err := s.c.ClusterSpec(ctx, want.Name)
		if err != nil {
			return nil, s.classify(err)
		}
		var have spec
		if err := json.Unmarshal(raw, &have); err != nil {
			return nil, s.classify(&bde.APIError{Op: "spec of cluster " + want.Name, Status: 200, Message: "the spec is not a ClusterCreate: " + err.Error(), Garbage: true})
		}
		st.specs[want.Name] = have
	}
	return st, nil
}

// Plan lists the writes Apply would make; it only reads.
func (s *Step) Plan(ctx context.Context) ([]site.Change, error) {
	st, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	var out []site.Change
	for _, want := range s.specs {
		out = append(out, s.plan(want, st)...)
	}
	return out, nil
}

func groupNames(w spec) string {
	var parts []string
	for _, g := range w.NodeGroups {
		parts = append(parts, fmt.Sprintf("%s×%d", g.Name, g.InstanceNum))
	}
	return strings.Join(parts, ", ")
}

func (s *Step) plan(want Spec, st *siteState) []site.Change {
	w := want.parsed
	have, ok := st.clusters[want.Name]
	if !ok {
		return []site.Change{{Kind: "cluster", Name: want.Name, Action: site.ActionCreate,
			Detail: fmt.Sprintf("%s %s: %s  POST /serengeti/api/clusters", w.Distro, w.DistroVersion, groupNames(w))}}
	}
	if have.Distro != w.Distro {
		return []site.Change{{Kind: "cluster", Name: want.Name, Action: site.ActionRefused,
			Detail: fmt.Sprintf("created on distro %s, the bundle says %s: BDE cannot change a cluster's distro (delete and create it by hand)", have.Distro, w.Distro)}}
	}
	if busy[have.Status] {
		return []site.Change{{Kind: "cluster", Name: want.Name, Action: site.ActionBusy,
			Detail: fmt.Sprintf("BDE is working on it (%s): the deploy stops after the other changes; re-run once BDE's task ends", have.Status)}}
	}
	if have.Status == "PROVISION_ERROR" {
		return []site.Change{{Kind: "cluster", Name: want.Name, Action: ActionResume,
			Detail: "its create failed (PROVISION_ERROR): resume it  PUT /serengeti/api/cluster/" + want.Name + "/action?state=resume"}}
	}
	var out []site.Change
	configured := false
	if why := configDiff(w, have, st.specs[want.Name]); why != "" {
		if notWritable[have.Status] {
			return []site.Change{{Kind: "cluster", Name: want.Name, Action: site.ActionRefused,
				Detail: fmt.Sprintf("%s, but BDE configures a cluster only when RUNNING, SERVICE_WARNING, SERVICE_STOPPED or CONFIGURE_ERROR (it is %s): start or repair it first", why, have.Status)}}
		}
		out = append(out, site.Change{Kind: "cluster", Name: want.Name, Action: site.ActionConfig,
			Detail: why + "  PUT /serengeti/api/cluster/" + want.Name + "/config"})
		configured = true
	}
	// BDE resizes only a RUNNING or SERVICE_WARNING cluster; a config that
	// succeeds leaves it RUNNING.
	resizable := configured || have.Status == "RUNNING" || have.Status == "SERVICE_WARNING"
	sizes := map[string]int{}
	for _, g := range have.NodeGroups {
		sizes[g.Name] = g.InstanceNum
	}
	for _, g := range w.NodeGroups {
		name := want.Name + "/" + g.Name
		n, ok := sizes[g.Name]
		switch {
		case !ok:
			out = append(out, site.Change{Kind: "nodegroup", Name: name, Action: site.ActionRefused,
				Detail: "BDE has no such node group: adding one is `cluster expand`, which deploy does not run"})
		case n == g.InstanceNum:
			out = append(out, site.Change{Kind: "nodegroup", Name: name, Action: site.ActionUnchanged, Detail: fmt.Sprintf("%d nodes", n)})
		case n > g.InstanceNum && !s.opts.AllowShrink:
			out = append(out, site.Change{Kind: "nodegroup", Name: name, Action: site.ActionRefused,
				Detail: fmt.Sprintf("would shrink %d -> %d nodes: give --allow-shrink to let it", n, g.InstanceNum)})
		case !resizable:
			out = append(out, site.Change{Kind: "nodegroup", Name: name, Action: site.ActionRefused,
				Detail: fmt.Sprintf("%d -> %d nodes, but BDE resizes a node group only when its cluster is RUNNING or SERVICE_WARNING (it is %s)", n, g.InstanceNum, have.Status)})
		default:
			out = append(out, site.Change{Kind: "nodegroup", Name: name, Action: site.ActionResize,
				Detail: fmt.Sprintf("%d -> %d nodes  PUT /serengeti/api/cluster/%s/nodegroup/%s/instancenum", n, g.InstanceNum, want.Name, g.Name)})
		}
	}
	if len(out) == 0 || out[0].Kind != "cluster" {
		out = append([]site.Change{{Kind: "cluster", Name: want.Name, Action: site.ActionUnchanged,
			Detail: fmt.Sprintf("%s, %d nodes, %s", have.Distro, have.InstanceNum, have.Status)}}, out...)
	}
	return out
}

// busy are the statuses of a cluster a BDE task is working on: every
// ClusterStatus that is not stable (apitypes/ClusterStatus.java @2.3.1:
// the stable ones are RUNNING, STOPPED, CONFIGURE_ERROR, ERROR,
// PROVISION_ERROR, UPGRADE_ERROR, SERVICE_STOPPED, SERVICE_WARNING).
var busy = map[string]bool{"PROVISIONING": true, "UPGRADING": true, "UPDATING": true, "DELETING": true,
	"EXPANDING": true, "STOPPING": true, "STARTING": true, "CONFIGURING": true, "NA": true, "VHM_RUNNING": true,
	"VMRECONFIGURING": true, "MAINTENANCE": true}

// notWritable are stable statuses in which BDE refuses both a config and
// a resize (ClusterManager.configCluster accepts RUNNING, SERVICE_WARNING,
// CONFIGURE_ERROR and SERVICE_STOPPED; resizeCluster RUNNING and
// SERVICE_WARNING).
var notWritable = map[string]bool{"STOPPED": true, "ERROR": true, "UPGRADE_ERROR": true}

// BusyError is a cluster Apply left alone because BDE was working on it.
type BusyError struct {
	Changes []site.Change
}

func (e *BusyError) Error() string {
	var names []string
	for _, c := range e.Changes {
		names = append(names, c.Name+" ("+c.Detail+")")
	}
	return "BDE is working on " + strings.Join(names, ", ")
}

// configDiff says why a config is due ("" when none is). A config
// changes only the configuration: BDE keeps the distro and version a
// cluster was created with (ClusterConfigManager.updateAppConfig puts the
// cluster's back into the body) and reports the version nowhere (no
// distroVersion in ClusterRead; GET …/spec nulls it), so the version is not
// compared. A new version reaches the nodes through the configuration the
// bundle renders for it (its repos and files), which is compared.
func configDiff(w spec, have bde.ClusterRead, hs spec) string {
	var why []string
	if !sameJSON(w.Configuration, hs.Configuration) {
		why = append(why, "cluster configuration differs")
	}
	hg := map[string]map[string]any{}
	for _, g := range hs.NodeGroups {
		hg[g.Name] = g.Configuration
	}
	for _, g := range w.NodeGroups {
		if hc, ok := hg[g.Name]; ok && !sameJSON(g.Configuration, hc) {
			why = append(why, "configuration of node group "+g.Name+" differs")
		}
	}
	if have.Status == "CONFIGURE_ERROR" {
		why = append(why, "its last config failed (CONFIGURE_ERROR)")
	}
	if len(why) > 0 && w.DistroVersion != "" {
		why = append(why, fmt.Sprintf("the bundle's distro %s %s", w.Distro, w.DistroVersion))
	}
	return strings.Join(why, "; ")
}

// sameJSON compares two configurations as JSON values (nil is {}).
func sameJSON(a, b map[string]any) bool {
	norm := func(m map[string]any) any {
		if m == nil {
			m = map[string]any{}
		}
		raw, _ := json.Marshal(m)
		var v any
		_ = json.Unmarshal(raw, &v)
		return v
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Apply makes the writes of changes, in order, waiting for each task.
func (s *Step) Apply(ctx context.Context, changes []site.Change, progress func(site.Progress)) error {
	var busyOnes []site.Change
	for _, c := range changes {
		if c.Action == site.ActionBusy {
			busyOnes = append(busyOnes, c)
		}
	}
	if err := s.apply(ctx, changes, progress); err != nil {
		return err
	}
	if len(busyOnes) > 0 {
		return &BusyError{Changes: busyOnes}
	}
	return nil
}

func (s *Step) apply(ctx context.Context, changes []site.Change, progress func(site.Progress)) error {
	if site.Writes(changes) == 0 {
		return nil
	}
	if s.loggedIn && time.Since(s.loginAt) > sessionAge {
		s.loggedIn = false // the login replaces the session
	}
	if err := s.login(ctx); err != nil {
		return err
	}
	byName := map[string]Spec{}
	for _, sp := range s.specs {
		byName[sp.Name] = sp
	}
	for _, ch := range changes {
		if !ch.Writes() {
			continue
		}
		cluster, grp, _ := strings.Cut(ch.Name, "/")
		sp, ok := byName[cluster]
		if !ok {
			return fmt.Errorf("change %s %s: the bundle has no cluster %s", ch.Action, ch.Name, cluster)
		}
		var pr func(bde.Task)
		if progress != nil {
			pr = func(t bde.Task) {
				progress(site.Progress{Change: ch, Fraction: t.Progress, Message: fmt.Sprintf("task %d %s %s", t.ID, t.Status, t.ProgressMessage)})
			}
		}
		slog.Info("cluster change", "kind", ch.Kind, "name", ch.Name, "action", ch.Action)
		var err error
		switch {
		case ch.Kind == "cluster" && ch.Action == site.ActionCreate:
			_, err = s.c.CreateCluster(ctx, cluster, sp.JSON, pr)
		case ch.Kind == "cluster" && ch.Action == ActionResume:
			_, err = s.c.ResumeCluster(ctx, cluster, pr)
		case ch.Kind == "cluster" && ch.Action == site.ActionConfig:
			_, err = s.c.ConfigCluster(ctx, cluster, sp.JSON, pr)
		case ch.Kind == "nodegroup" && ch.Action == site.ActionResize:
			n := -1
			for _, g := range sp.parsed.NodeGroups {
				if g.Name == grp {
					n = g.InstanceNum
				}
			}
			if n < 0 {
				return fmt.Errorf("change resize %s: the bundle's cluster %s has no node group %s", ch.Name, cluster, grp)
			}
			_, err = s.c.ResizeNodeGroup(ctx, cluster, grp, n, pr)
		default:
			return fmt.Errorf("change %s %s %s: not a change of the clusters step", ch.Kind, ch.Action, ch.Name)
		}
		if err != nil {
			return &ChangeError{Change: ch, Err: s.classify(err)}
		}
	}
	return nil
}

// ChangeError is a change that failed.
type ChangeError struct {
	Change site.Change
	Err    error
}

func (e *ChangeError) Error() string {
	return fmt.Sprintf("%s of %s %s: %v", e.Change.Action, e.Change.Kind, e.Change.Name, e.Err)
}
func (e *ChangeError) Unwrap() error { return e.Err }

// Status compares BDE's clusters with the bundle's, changing nothing.
func (s *Step) Status(ctx context.Context) ([]site.Status, error) {
	st, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	var rows []site.Status
	for _, want := range s.specs {
		w := want.parsed
		total := 0
		for _, g := range w.NodeGroups {
			total += g.InstanceNum
		}
		row := site.Status{Kind: "cluster", Name: want.Name, Want: fmt.Sprintf("%s %s, %d nodes", w.Distro, w.DistroVersion, total), Have: "absent"}
		have, ok := st.clusters[want.Name]
		if ok {
			row.Have = fmt.Sprintf("%s (version not reported by BDE), %d nodes, %s", have.Distro, have.InstanceNum, have.Status)
			row.OK = have.Distro == w.Distro && have.Status == "RUNNING" && configDiff(w, have, st.specs[want.Name]) == ""
			if !row.OK && configDiff(w, have, st.specs[want.Name]) != "" {
				row.Have += " (" + configDiff(w, have, st.specs[want.Name]) + ")"
			}
		}
		rows = append(rows, row)
		sizes := map[string]int{}
		for _, g := range have.NodeGroups {
			sizes[g.Name] = g.InstanceNum
		}
		for _, g := range w.NodeGroups {
			r := site.Status{Kind: "nodegroup", Name: want.Name + "/" + g.Name, Want: fmt.Sprintf("%d nodes", g.InstanceNum), Have: "absent"}
			if n, ok := sizes[g.Name]; ok {
				r.Have = fmt.Sprintf("%d nodes", n)
				r.OK = n == g.InstanceNum
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}
