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

// causeExtra marks a diagnostic as the root cause named key.
type causeExtra struct{ key string }

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
// reported stays as it is.
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
	folded := map[*hcl.Diagnostic]int{}
	kinds := map[*hcl.Diagnostic][]string{}
	counts := map[*hcl.Diagnostic]map[string]int{}
	var causes, rest hcl.Diagnostics
	for _, d := range diags {
		if f, ok := d.Extra.(followsExtra); ok && d.Severity == hcl.DiagError {
			if r := firstRoot(roots, f.keys); r != nil {
				folded[r]++
				if counts[r] == nil {
					counts[r] = map[string]int{}
				}
				if counts[r][d.Summary] == 0 {
					kinds[r] = append(kinds[r], d.Summary)
				}
				counts[r][d.Summary]++
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
		if n := folded[r]; n > 0 {
			var what []string
			for _, k := range kinds[r] {
				what = append(what, fmt.Sprintf("%s ×%d", k, counts[r][k]))
			}
			verb := "follow"
			if n == 1 {
				verb = "follows"
			}
			r.Detail += fmt.Sprintf(" (and %s that %s from it, not shown: %s)", plural(n, "error", "errors"), verb, strings.Join(what, ", "))
		}
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
