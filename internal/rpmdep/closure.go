package rpmdep

import (
	"slices"
	"sort"
	"strings"
)

// Problem is one requirement nothing satisfies.
type Problem struct {
	Package     string // NEVRA of the requiring package
	Requirement string // the requirement as rpm prints it
}

func (p Problem) String() string {
	return p.Package + " requires " + p.Requirement
}

type depIndex struct {
	provides map[string][]Dep
	files    map[string]struct{}
}

func newDepIndex(pkgs []Package, baseline []Dep) *depIndex {
	ix := &depIndex{provides: map[string][]Dep{}, files: map[string]struct{}{}}
	for _, p := range pkgs {
		for _, d := range p.Provides {
			ix.provides[d.Name] = append(ix.provides[d.Name], d)
		}
		for _, f := range p.Files {
			ix.files[f] = struct{}{}
		}
	}
	for _, d := range baseline {
		ix.provides[d.Name] = append(ix.provides[d.Name], d)
		if strings.HasPrefix(d.Name, "/") && d.Flags == "" {
			ix.files[d.Name] = struct{}{}
		}
	}
	return ix
}

// Unresolved checks dependency closure: every Requires of every package must
// be satisfied by the provides or files of the package set, or by the
// baseline provides (which may name files, e.g. "/bin/sh"). Versions are
// compared with rpm semantics. Rich (boolean) dependencies are evaluated.
// Problems come back sorted.
func Unresolved(pkgs []Package, baseline []Dep) []Problem {
	ix := newDepIndex(pkgs, baseline)
	var out []Problem
	for _, p := range pkgs {
		for _, r := range p.Requires {
			if strings.HasPrefix(r.Name, "rpmlib(") {
				continue
			}
			if !ix.satisfied(r) {
				out = append(out, Problem{Package: p.NEVRA, Requirement: r.String()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Requirement < out[j].Requirement
	})
	return out
}

func (ix *depIndex) satisfied(r Dep) bool {
	if strings.HasPrefix(r.Name, "(") {
		ok, err := ix.evalRich(r.Name)
		return err == nil && ok
	}
	if strings.HasPrefix(r.Name, "/") {
		if _, ok := ix.files[r.Name]; ok {
			return true
		}
	}
	for _, p := range ix.provides[r.Name] {
		if overlaps(p, r) {
			return true
		}
	}
	return false
}

func senseBits(flags string) int {
	switch flags {
	case "EQ":
		return senseEqual
	case "LT":
		return senseLess
	case "GT":
		return senseGreater
	case "LE":
		return senseLess | senseEqual
	case "GE":
		return senseGreater | senseEqual
	}
	return 0
}

// overlaps reports whether the ranges of a provide and a requirement
// intersect (rpm's rpmdsCompare).
func overlaps(p, r Dep) bool {
	pf, rf := senseBits(p.Flags), senseBits(r.Flags)
	if pf == 0 || rf == 0 {
		return true
	}
	sense := CompareEVRParts(p.Epoch, p.Version, p.Release, r.Epoch, r.Version, r.Release)
	switch {
	case sense < 0:
		return pf&senseGreater != 0 || rf&senseLess != 0
	case sense > 0:
		return pf&senseLess != 0 || rf&senseGreater != 0
	}
	return (pf&senseEqual != 0 && rf&senseEqual != 0) ||
		(pf&senseLess != 0 && rf&senseLess != 0) ||
		(pf&senseGreater != 0 && rf&senseGreater != 0)
}

// Unmet is one requirement nothing satisfies, with every package that
// needs it.
type Unmet struct {
	Requirement string   // as rpm prints it
	Packages    []string // NEVRAs of the requiring packages, sorted, each once
}

// GroupByRequirement folds problems into one Unmet per requirement, sorted
// by requirement: a capability that hundreds of packages need is one entry,
// not hundreds.
func GroupByRequirement(problems []Problem) []Unmet {
	byReq := map[string][]string{}
	for _, p := range problems {
		byReq[p.Requirement] = append(byReq[p.Requirement], p.Package)
	}
	out := make([]Unmet, 0, len(byReq))
	for req, pkgs := range byReq {
		sort.Strings(pkgs)
		out = append(out, Unmet{Requirement: req, Packages: slices.Compact(pkgs)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Requirement < out[j].Requirement })
	return out
}
