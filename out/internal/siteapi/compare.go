package siteapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Differences compares a bundle's definition with what the API returns,
// field by field, the way the API applies it: every field the definition
// sets must hold the same value on the site (numbers compared as numbers,
// objects recursively, arrays element by element); fields the site has
// and the definition does not set are defaults or the API's own
// (version, tasks, counters) and are ignored. It returns the paths that
// differ ("instances", "container.docker.image"), sorted.
func Differences(want, have any) []string {
	return DifferencesWild(want, have, nil)
}

// DifferencesWild is Differences where wild says which wanted values any
// site value satisfies (a port of 0 that Marathon assigns).
func DifferencesWild(want, have any, wild func(path string, want any) bool) []string {
	var out []string
	diff("", want, have, wild, &out)
	sort.Strings(out)
	return out
}

func diff(path string, want, have any, wild func(string, any) bool, out *[]string) {
	if wild != nil && wild(path, want) {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			*out = append(*out, or(path, "."))
			return
		}
		for k, wv := range w {
			p := k
			if path != "" {
				p = path + "." + k
			}
			hv, ok := h[k]
			if !ok {
				if empty(wv) {
					continue
				}
				*out = append(*out, p)
				continue
			}
			diff(p, wv, hv, wild, out)
		}
	case []any:
		h, ok := have.([]any)
		if !ok {
			if len(w) == 0 && have == nil {
				return
			}
			*out = append(*out, path)
			return
		}
		if len(w) != len(h) {
			*out = append(*out, path)
			return
		}
		var sub []string
		for i := range w {
			diff(fmt.Sprintf("%s[%d]", path, i), w[i], h[i], wild, &sub)
		}
		if len(sub) > 0 {
			*out = append(*out, path)
		}
	case json.Number:
		hn, ok := have.(json.Number)
		if !ok {
			*out = append(*out, path)
			return
		}
		a, err1 := w.Float64()
		b, err2 := hn.Float64()
		if err1 != nil || err2 != nil || math.Abs(a-b) > 1e-9*math.Max(1, math.Abs(a)) {
			*out = append(*out, path)
		}
	default:
		if want != have {
			*out = append(*out, path)
		}
	}
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case string:
		return x == ""
	}
	return false
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Decode parses JSON with numbers kept as json.Number.
func Decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// Summary says up to four differing fields on one line.
func Summary(paths []string) string {
	if len(paths) > 4 {
		return fmt.Sprintf("%s and %d more differ", join(paths[:4]), len(paths)-4)
	}
	return join(paths) + " differ"
}

func join(p []string) string {
	p = slices.Clone(p)
	s := ""
	for i, x := range p {
		if i > 0 {
			s += ", "
		}
		s += x
	}
	return s
}
