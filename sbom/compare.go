package sbom

import (
	"slices"
	"sort"
	"strings"
)

// Change is one difference between two SBOMs.
type Change struct {
	// Component is "rpm <repo>/<name>.<arch>", "image <name>" or
	// "template <name>".
	Component string `json:"component"`
	// What is "added", "removed", "version", "license", "supplier" or "digest".
	What string `json:"change"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// Compare lists what changed from old to new: components added or
// removed, and for RPMs (keyed by repo, name and arch) a changed version,
// license or supplier, for images and templates a changed digest. Changes
// come sorted by component, then kind.
func Compare(old, new *Summary) []Change {
	var out []Change
	// RPMs are keyed by repo, name and arch; several builds of one key
	// are listed together.
	rpms := func(s *Summary) map[string]RPMSummary {
		all := map[string][]RPMSummary{}
		for _, r := range s.RPMs {
			k := "rpm " + r.Repo + "/" + r.Name + "." + r.Arch
			all[k] = append(all[k], r)
		}
		m := map[string]RPMSummary{}
		for k, rs := range all {
			m[k] = RPMSummary{EVR: joinSorted(rs, func(r RPMSummary) string { return r.EVR }),
				License:  joinSorted(rs, func(r RPMSummary) string { return r.License }),
				Supplier: joinSorted(rs, func(r RPMSummary) string { return r.Supplier })}
		}
		return m
	}
	om, nm := rpms(old), rpms(new)
	for k, o := range om {
		n, ok := nm[k]
		if !ok {
			out = append(out, Change{Component: k, What: "removed", Old: o.EVR})
			continue
		}
		if o.EVR != n.EVR {
			out = append(out, Change{Component: k, What: "version", Old: o.EVR, New: n.EVR})
		}
		if o.License != n.License {
			out = append(out, Change{Component: k, What: "license", Old: o.License, New: n.License})
		}
		if o.Supplier != n.Supplier {
			out = append(out, Change{Component: k, What: "supplier", Old: o.Supplier, New: n.Supplier})
		}
	}
	for k, n := range nm {
		if _, ok := om[k]; !ok {
			out = append(out, Change{Component: k, What: "added", New: n.EVR})
		}
	}
	for k, o := range old.Images {
		n, ok := new.Images[k]
		switch {
		case !ok:
			out = append(out, Change{Component: "image " + k, What: "removed", Old: o.Digest})
		case o.Digest != n.Digest:
			out = append(out, Change{Component: "image " + k, What: "digest", Old: o.Digest, New: n.Digest})
		}
	}
	for k, n := range new.Images {
		if _, ok := old.Images[k]; !ok {
			out = append(out, Change{Component: "image " + k, What: "added", New: n.Digest})
		}
	}
	for k, o := range old.Templates {
		n, ok := new.Templates[k]
		switch {
		case !ok:
			out = append(out, Change{Component: "template " + k, What: "removed", Old: o.SHA256})
		case o.SHA256 != n.SHA256:
			out = append(out, Change{Component: "template " + k, What: "digest", Old: o.SHA256, New: n.SHA256})
		}
	}
	for k, n := range new.Templates {
		if _, ok := old.Templates[k]; !ok {
			out = append(out, Change{Component: "template " + k, What: "added", New: n.SHA256})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Component != out[j].Component {
			return out[i].Component < out[j].Component
		}
		return out[i].What < out[j].What
	})
	return out
}

func joinSorted(rs []RPMSummary, f func(RPMSummary) string) string {
	var vs []string
	for _, r := range rs {
		vs = append(vs, f(r))
	}
	sort.Strings(vs)
	return strings.Join(slices.Compact(vs), ", ")
}
