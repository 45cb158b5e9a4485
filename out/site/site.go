package site

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Change is one write a step would make to a site API (or "unchanged").
type Change struct {
	// Kind is "cluster", "nodegroup", "app" or "job".
	Kind string `json:"kind"`
	// Name is e.g. "mesos0", "mesos0/slave", "/web", "backup".
	Name string `json:"name"`
	// Action is one of the Action* constants (a step may add its own).
	Action string `json:"action"`
	// Detail is one line for the reader, never a secret.
	Detail string `json:"detail,omitempty"`
}

// Actions of a Change.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionResize    = "resize"
	ActionConfig    = "config"
	ActionUnchanged = "unchanged"
	// ActionRefused is a change the step will not make without an explicit
	// flag (a node group that would shrink); Apply skips it and the plan
	// says which flag allows it.
	ActionRefused = "refused"
	// ActionBusy is an object the site is still working on (a BDE task
	// runs on the cluster): nothing is written to it, and Apply fails once
	// the other changes are made, so the deploy stops and a re-run, once
	// the site is done, finishes.
	ActionBusy = "busy"
)

// Writes reports whether the change is a write call (not "unchanged",
// "refused" or "busy").
func (c Change) Writes() bool {
	return c.Action != ActionUnchanged && c.Action != ActionRefused && c.Action != ActionBusy
}

// Status is one row of `bundle status`.
type Status struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Want is what the bundle says, Have what the site has ("absent"
	// when it has nothing of that name).
	Want string `json:"want"`
	Have string `json:"have"`
	OK   bool   `json:"ok"`
}

// Progress is what a step reports while it applies a change: a BDE task
// poll, a Marathon deployment that is still running.
type Progress struct {
	Change Change `json:"change"`
	// Fraction is 0–1 when known, else negative.
	Fraction float64 `json:"fraction"`
	Message  string  `json:"message,omitempty"`
}

// Step is one site step: clusters, apps or jobs.
type Step interface {
	// Name is "clusters", "apps" or "jobs".
	Name() string
	// Plan reads the site and lists the changes Apply would make, one per
	// object of the bundle (Action "unchanged" when it matches).
	Plan(ctx context.Context) ([]Change, error)
	// Apply makes the writes of changes (the Plan's), in order, and no
	// other write; progress, when set, sees the waits.
	Apply(ctx context.Context, changes []Change, progress func(Progress)) error
	// Status compares the site with the bundle, changing nothing.
	Status(ctx context.Context) ([]Status, error)
}

// Order is the order of the kinds in a deploy: files, templates and
// images (vCenter and the registry), then clusters, apps, jobs.
var Order = []string{"file", "template", "image", "cluster", "nodegroup", "app", "job"}

// rank is a kind's place in Order (unknown kinds last).
func rank(kind string) int {
	for i, k := range Order {
		if k == kind {
			return i
		}
	}
	return len(Order)
}

// SortStatus sorts rows by Order, then name.
func SortStatus(rows []Status) {
	sort.SliceStable(rows, func(i, j int) bool {
		if ri, rj := rank(rows[i].Kind), rank(rows[j].Kind); ri != rj {
			return ri < rj
		}
		return rows[i].Name < rows[j].Name
	})
}

// Writes counts the changes that write.
func Writes(changes []Change) int {
	n := 0
	for _, c := range changes {
		if c.Writes() {
			n++
		}
	}
	return n
}

// Matches reports whether every row is OK.
func Matches(rows []Status) bool {
	for _, r := range rows {
		if !r.OK {
			return false
		}
	}
	return true
}

// symbol is the plan's mark of an action, as vCenter's plan prints them.
func symbol(action string) string {
	switch action {
	case ActionCreate:
		return "+"
	case ActionUnchanged:
		return "="
	case ActionRefused, ActionBusy:
		return "!"
	default:
		return "~"
	}
}

// WritePlan prints the changes of one step under a heading; unchanged
// objects only when verbose.
func WritePlan(w io.Writer, heading string, changes []Change, verbose bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", heading)
	shown := 0
	for _, c := range changes {
		if c.Action == ActionUnchanged && !verbose {
			continue
		}
		shown++
		fmt.Fprintf(&b, "  %s %-9s %-10s %-24s %s\n", symbol(c.Action), c.Kind, c.Action, Clean(c.Name), Clean(c.Detail))
	}
	if n := len(changes) - shown; n > 0 {
		fmt.Fprintf(&b, "  = %d unchanged\n", n)
	}
	if len(changes) == 0 {
		b.WriteString("  (nothing in the bundle)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteStatus prints a status table.
func WriteStatus(w io.Writer, rows []Status) error {
	var b strings.Builder
	for _, r := range rows {
		mark := "ok"
		if !r.OK {
			mark = "DIFFERS"
		}
		fmt.Fprintf(&b, "  %-7s %-9s %-24s want %-28s have %s\n", mark, r.Kind, Clean(r.Name), Clean(r.Want), Clean(r.Have))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Clean makes a string from a site API safe for a terminal: control
// characters become '?', and it is cut at 200 runes.
func Clean(s string) string {
	r := []rune(s)
	if len(r) > 200 {
		r = append(r[:199], '…')
	}
	for i, c := range r {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			r[i] = '?'
		}
	}
	return string(r)
}
