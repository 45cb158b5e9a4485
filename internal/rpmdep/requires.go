package rpmdep

import (
	"slices"
	"strings"
)

// Providers resolves requirements within a package set: for each package of
// pkgs, the indexes of the other packages of pkgs that satisfy its
// requirements (rpmlib() ones are skipped). A simple requirement is met by
// every package whose provides (with rpm's version ranges) or files meet it;
// a rich one by those that meet any of its terms. Lists are sorted and hold
// no duplicates.
func Providers(pkgs []Package) [][]int {
	type prov struct {
		dep Dep
		pkg int
	}
	provides := map[string][]prov{}
	files := map[string][]int{}
	for i, p := range pkgs {
		for _, d := range p.Provides {
			provides[d.Name] = append(provides[d.Name], prov{d, i})
		}
		for _, f := range p.Files {
			files[f] = append(files[f], i)
		}
	}
	meet := func(r Dep, into []int) []int {
		if strings.HasPrefix(r.Name, "/") {
			into = append(into, files[r.Name]...)
		}
		for _, pv := range provides[r.Name] {
			if overlaps(pv.dep, r) {
				into = append(into, pv.pkg)
			}
		}
		return into
	}
	out := make([][]int, len(pkgs))
	for i, p := range pkgs {
		var on []int
		for _, r := range p.Requires {
			switch {
			case strings.HasPrefix(r.Name, "rpmlib("):
			case strings.HasPrefix(r.Name, "("):
				for _, t := range richTerms(r.Name) {
					on = meet(t, on)
				}
			default:
				on = meet(r, on)
			}
		}
		slices.Sort(on)
		on = slices.Compact(on)
		if k := slices.Index(on, i); k >= 0 {
			on = slices.Delete(on, k, k+1)
		}
		out[i] = on
	}
	return out
}

// richTerms lists the simple dependencies named in a rich dependency.
func richTerms(s string) []Dep {
	toks := tokenizeRich(s)
	var deps []Dep
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t == "(" || t == ")" || richOps[t] {
			continue
		}
		d := Dep{Name: t}
		if i+2 < len(toks) {
			if fl, ok := map[string]string{"=": "EQ", "==": "EQ", "<": "LT", ">": "GT", "<=": "LE", "=<": "LE", ">=": "GE", "=>": "GE"}[toks[i+1]]; ok {
				d.Flags = fl
				d.Epoch, d.Version, d.Release = ParseEVR(toks[i+2])
				i += 2
			}
		}
		deps = append(deps, d)
	}
	return deps
}
