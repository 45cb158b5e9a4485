package compiler

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// A root cause is one fact (a package directory, a GPG key file, an image
// source or a disk that is not there) that explains other errors: the role
// packages a missing directory would have held, the signatures a missing
// key would have verified. Diagnostics carry the link in their Extra, and
// FoldConsequences reports the cause first and folds the errors that follow
// from it into it, so that one mistake reads as one error.

// causeExtra marks a diagnostic as the root cause named key. Once errors
// are folded into it, it also holds its detail as written (detail) and the
// folded errors' summaries (kinds, in order) with their counts, so that
// folding again (the caller folds its own errors with the compiler's) adds
// to the count instead of saying it twice.
type causeExtra struct {
	key    string
	detail string
	kinds  []string
	counts map[string]int
}

// followsExtra marks a diagnostic as following from any of the root causes
// named by keys (when one of them is reported).
type followsExtra struct{ keys []string }

// RepoPackagesCause is the cause key of a repo's package path that names
// nothing; RepoKeysCause that of a repo's GPG key file that is not there.
func RepoPackagesCause(repo string) string { return "repo." + repo + ".packages" }

// RepoKeysCause: see RepoPackagesCause.
func RepoKeysCause(repo string) string { return "repo." + repo + ".gpg_keys" }

// MarkCause marks d as the root cause key and returns it.
func MarkCause(d *hcl.Diagnostic, key string) *hcl.Diagnostic {
	d.Extra = causeExtra{key: key}
	return d
}

// MarkFollows marks d as following from any of the causes keys and
// returns it.
func MarkFollows(d *hcl.Diagnostic, keys ...string) *hcl.Diagnostic {
	if len(keys) > 0 {
		d.Extra = followsExtra{keys: keys}
	}
	return d
}

// FoldConsequences returns diags with every error that follows from a
// reported root cause left out and counted in the cause's detail ("and 6
// errors that follow from it"), and the causes moved first (in their
// order). Everything else keeps its order. A consequence whose cause is not
// reported stays as it is. Folding folded diagnostics again, with more
// consequences or none, counts each consequence once.
func FoldConsequences(diags hcl.Diagnostics) hcl.Diagnostics {
	roots := map[string]*hcl.Diagnostic{}
	for _, d := range diags {
		if c, ok := d.Extra.(causeExtra); ok && d.Severity == hcl.DiagError && roots[c.key] == nil {
			roots[c.key] = d
		}
	}
	if len(roots) == 0 {
		return diags
	}
	folded := map[*hcl.Diagnostic]bool{}
	var causes, rest hcl.Diagnostics
	for _, d := range diags {
		if f, ok := d.Extra.(followsExtra); ok && d.Severity == hcl.DiagError {
			if r := firstRoot(roots, f.keys); r != nil {
				ce := r.Extra.(causeExtra)
				if ce.counts == nil {
					ce.detail, ce.counts = r.Detail, map[string]int{}
				}
				if ce.counts[d.Summary] == 0 {
					ce.kinds = append(ce.kinds, d.Summary)
				}
				ce.counts[d.Summary]++
				r.Extra = ce
				folded[r] = true
				continue
			}
		}
		if c, ok := d.Extra.(causeExtra); ok && roots[c.key] == d {
			causes = append(causes, d)
			continue
		}
		rest = append(rest, d)
	}
	for _, r := range causes {
		if !folded[r] {
			continue
		}
		ce := r.Extra.(causeExtra)
		n := 0
		var what []string
		for _, k := range ce.kinds {
			n += ce.counts[k]
			what = append(what, fmt.Sprintf("%s ×%d", k, ce.counts[k]))
		}
		verb := "follow"
		if n == 1 {
			verb = "follows"
		}
		r.Detail = ce.detail + fmt.Sprintf(" (and %s that %s from it, not shown: %s)", plural(n, "error", "errors"), verb, strings.Join(what, ", "))
	}
	return append(causes, rest...)
}

func firstRoot(roots map[string]*hcl.Diagnostic, keys []string) *hcl.Diagnostic {
	for _, k := range keys {
		if r := roots[k]; r != nil {
			return r
		}
	}
	return nil
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
