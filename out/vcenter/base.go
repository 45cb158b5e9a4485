package vcenter

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// BaseRequirement is the release a delta was made against, as Deploy
// checks the site holds it (Options.RequireBase).
type BaseRequirement struct {
	Name, Version string
	BundleSHA256  string            // sha256 of the base's bundle.json
	Files         map[string]string // base path → sha256 of the files the new release takes from it
}

// ErrBaseMissing is wrapped by a *BaseError.
var ErrBaseMissing = errors.New("the site does not hold the delta's base")

// BaseError says what of a delta's base the site lacks.
type BaseError struct {
	Where   string   // the state file on the datastore
	Reason  string   // what the state records instead
	Missing []string // serengeti/ files the release needs from the base, not on the site with their sha256
}

func (e *BaseError) Error() string {
	msg := fmt.Sprintf("%v (%s): %s", ErrBaseMissing, e.Where, e.Reason)
	if len(e.Missing) > 0 {
		show := e.Missing
		if len(show) > 10 {
			show = append(show[:10:10], fmt.Sprintf("and %d more", len(e.Missing)-10))
		}
		msg += "; missing: " + strings.Join(show, ", ")
	}
	return msg
}

func (e *BaseError) Unwrap() error { return ErrBaseMissing }

// check compares the plan's state (read from the datastore folder) with r.
func (r *BaseRequirement) check(p *DeployPlan) error {
	st, where := p.state, p.dsPath(StateFile)
	base := fmt.Sprintf("%s %s (bundle.json sha256 %s)", r.Name, r.Version, r.BundleSHA256)
	switch {
	case st == nil || st.Bundle == "":
		return &BaseError{Where: where, Reason: "no bundle is deployed there; the delta needs " + base + ": deploy that release in full first"}
	case st.BundleSHA256 == "":
		return &BaseError{Where: where, Reason: fmt.Sprintf("the deploy of %s %s there did not complete (or predates recorded digests); the delta needs %s: deploy that release in full first", st.Bundle, st.Version, base)}
	case st.BundleSHA256 != r.BundleSHA256:
		return &BaseError{Where: where, Reason: fmt.Sprintf("the site holds %s %s (bundle.json sha256 %s); the delta needs %s", st.Bundle, st.Version, st.BundleSHA256, base)}
	}
	var missing []string
	for path, sum := range r.Files {
		if strings.HasPrefix(path, "serengeti/") && st.Files[path] != sum {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return &BaseError{Where: where, Reason: "the site's state lacks files of " + base + " the release takes from it", Missing: missing}
	}
	return nil
}
