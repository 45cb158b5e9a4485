package sitedef

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// BlockSchema is what a block of the definition may hold: its labels, its
// attributes and its nested blocks. Schema derives it from the types the
// definition decodes into, so it is the schema the loader applies.
type BlockSchema struct {
	// Path is the block type, with its enclosing blocks' types before it:
	// "cluster.node_group".
	Path   string
	Labels []string
	Attrs  []AttrSchema
	Blocks []string // types of the nested blocks (their Path's last part)
	// Repeated is set when the block may appear more than once in its parent.
	Repeated bool
}

// AttrSchema is one attribute of a block.
type AttrSchema struct {
	Name     string
	Type     string // HCL type: string, number, bool, list(string), map(string), list(list(string)), reference, any
	Required bool
}

var exprType = reflect.TypeOf((*hcl.Expression)(nil)).Elem()

// Schema lists every block of the definition language, top-level blocks
// first in the order the loader declares them, each followed by its
// nested blocks. The locals block holds any attributes (it has none listed).
func Schema() []BlockSchema {
	var out []BlockSchema
	rt := reflect.TypeOf(root{})
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("hcl"), ",")
		out = appendSchema(out, "", name, f.Type, true)
	}
	return out
}

func appendSchema(out []BlockSchema, parent, name string, t reflect.Type, repeated bool) []BlockSchema {
	if t.Kind() == reflect.Slice {
		t, repeated = t.Elem(), true
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	path := name
	if parent != "" {
		path = parent + "." + name
	}
	bs := BlockSchema{Path: path, Repeated: repeated}
	type nested struct {
		name string
		t    reflect.Type
		rep  bool
	}
	var kids []nested
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("hcl")
		if !ok {
			continue
		}
		n, kind, _ := strings.Cut(tag, ",")
		switch kind {
		case "label":
			bs.Labels = append(bs.Labels, n)
		case "block":
			bs.Blocks = append(bs.Blocks, n)
			kids = append(kids, nested{n, f.Type, f.Type.Kind() == reflect.Slice})
		case "", "optional":
			bs.Attrs = append(bs.Attrs, AttrSchema{Name: n, Type: hclType(n, f.Type), Required: kind == ""})
		}
	}
	out = append(out, bs)
	for _, k := range kids {
		out = appendSchema(out, path, k.name, k.t, k.rep)
	}
	return out
}

// hclType names the HCL type of a Go field.
func hclType(name string, t reflect.Type) string {
	if t == exprType {
		switch name {
		case "type", "default", "condition":
			return "expression"
		}
		if name == "repos" || name == "parents" || name == "dependencies" {
			return "list(reference)"
		}
		return "reference"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list(" + hclType("", t.Elem()) + ")"
	case reflect.Map:
		return "map(" + hclType("", t.Elem()) + ")"
	}
	return "any"
}

// synonyms are names a new user writes for an attribute, from other tools
// (BDE's cluster spec, Marathon's JSON, Terraform providers), by the
// attribute they mean. An unknown attribute is matched against the ones its
// block has.
var synonyms = map[string][]string{
	"memory":       {"memory_mb", "mem"},
	"memorymb":     {"memory_mb"},
	"mem_mb":       {"memory_mb", "mem"},
	"ram":          {"memory_mb", "mem"},
	"memory_gb":    {"memory_mb"},
	"cpu":          {"cpus"},
	"cpus":         {"cpu"},
	"vcpu":         {"cpu", "cpus"},
	"vcpus":        {"cpu", "cpus"},
	"cpunum":       {"cpu"},
	"count":        {"instances"},
	"replicas":     {"instances"},
	"instancenum":  {"instances"},
	"instance_num": {"instances"},
	"command":      {"cmd"},
	"environment":  {"env"},
	"port":         {"ports"},
	"labels":       {"attributes"},
	"constraint":   {"constraints"},
	"baseurl":      {"base_url"},
	"url":          {"base_url"},
	"gpgkey":       {"gpg_keys"},
	"gpg_key":      {"gpg_keys"},
	"keys":         {"gpg_keys"},
	"rpms":         {"packages"},
	"image_ref":    {"ref"},
	"reference":    {"ref"},
	"disk_gb":      {"size_gb"},
	"size":         {"size_gb"},
	"sizegb":       {"size_gb"},
	"role":         {"roles"},
	"host":         {"hosts"},
	"description":  {"annotation"},
	"datastore":    {"datastores"},
	"instancetype": {"instance_type"},
	"guestos":      {"guest_os"},
	"os":           {"guest_os"},
}

// suggestAttr suggests the attribute of attrs a user who wrote name meant:
// a known synonym, a name that differs only in case or by one letter, one
// that holds name as a whole _-separated part (memory → memory_mb), or the
// closest by edit distance. "" when none fits.
func suggestAttr(name string, attrs []string) string {
	has := func(a string) bool {
		for _, x := range attrs {
			if x == a {
				return true
			}
		}
		return false
	}
	for _, s := range synonyms[strings.ToLower(name)] {
		if has(s) {
			return s
		}
	}
	for _, a := range attrs {
		if strings.EqualFold(a, name) {
			return a
		}
	}
	for _, a := range attrs {
		if levenshtein.Distance(name, a, nil) == 1 {
			return a // a plain typo: one letter off
		}
	}
	var parts []string
	for _, a := range attrs {
		for _, p := range strings.Split(a, "_") {
			if p == strings.ToLower(name) {
				parts = append(parts, a)
				break
			}
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	if s := didYouMean(name, attrs); s != "" {
		return s[len(" Did you mean \""):strings.LastIndex(s, "\"")]
	}
	return ""
}

var (
	unsupportedArgRE  = regexp.MustCompile(`^An argument named "([^"]+)" is not expected here\.$`)
	unsupportedAttrRE = regexp.MustCompile(`^This object does not have an attribute named "([^"]+)"\.$`)
)

// addSuggestions adds a "Did you mean" to the diagnostics the HCL library
// wrote without one: an attribute name its block does not have (matched
// against the block's attributes by synonym and spelling), and a var.NAME
// or local.NAME that is not declared (matched against the declared names).
func addSuggestions(diags hcl.Diagnostics, files map[string]*hcl.File, vars []*Variable, locals []string) {
	byPath := map[string][]string{}
	for _, bs := range Schema() {
		for _, a := range bs.Attrs {
			byPath[bs.Path] = append(byPath[bs.Path], a.Name)
		}
	}
	var varNames []string
	for _, v := range vars {
		varNames = append(varNames, v.Name)
	}
	sort.Strings(locals)
	for _, d := range diags {
		if d.Subject == nil || strings.Contains(d.Detail, "Did you mean") {
			continue
		}
		f := files[d.Subject.Filename]
		if f == nil {
			continue
		}
		switch {
		case d.Summary == "Unsupported argument" && unsupportedArgRE.MatchString(d.Detail):
			name := unsupportedArgRE.FindStringSubmatch(d.Detail)[1]
			body, ok := f.Body.(*hclsyntax.Body)
			if !ok {
				continue
			}
			path := enclosingBlock(body, *d.Subject, "")
			if s := suggestAttr(name, byPath[path]); s != "" {
				d.Detail += fmt.Sprintf(" Did you mean %q?", s)
			}
		case d.Summary == "Unsupported attribute" && unsupportedAttrRE.MatchString(d.Detail):
			name := unsupportedAttrRE.FindStringSubmatch(d.Detail)[1]
			before := string(f.Bytes[:min(d.Subject.Start.Byte, len(f.Bytes))])
			var s string
			switch {
			case strings.HasSuffix(before, "var"):
				s = didYouMean(name, varNames)
			case strings.HasSuffix(before, "local"):
				s = didYouMean(name, locals)
			}
			d.Detail += s
		}
	}
}

// enclosingBlock returns the Schema path of the innermost block of body
// whose body holds rng ("" for the top level).
func enclosingBlock(body *hclsyntax.Body, rng hcl.Range, path string) string {
	for _, b := range body.Blocks {
		br := b.Body.Range()
		if rng.Start.Byte >= br.Start.Byte && rng.End.Byte <= br.End.Byte {
			p := b.Type
			if path != "" {
				p = path + "." + b.Type
			}
			return enclosingBlock(b.Body, rng, p)
		}
	}
	return path
}
