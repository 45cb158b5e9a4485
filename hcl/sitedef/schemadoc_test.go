package sitedef

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDefinitionDocMatchesSchema: docs/definition.md's attribute reference
// has a section for every block the loader accepts (and no other), each
// with a row for every attribute (and no other) giving the attribute's type,
// "required" exactly when it is required, a default otherwise, and an
// example, so that the reference cannot drift from the schema.
func TestDefinitionDocMatchesSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "definition.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n## Attribute reference\n")
	if i < 0 {
		t.Fatal("docs/definition.md has no \"## Attribute reference\" section")
	}
	ref := doc[i:]
	if j := strings.Index(ref[1:], "\n## "); j >= 0 {
		ref = ref[:j+1]
	}
	type row struct{ typ, def, example string }
	sections := map[string]map[string]row{}
	labels := map[string]string{}
	var order []string
	head := regexp.MustCompile("^### `([a-z_.]+)`$")
	rowRE := regexp.MustCompile("^\\| `([a-z_]+)` \\| ([^|]+) \\| ([^|]+) \\| `([^`]+)` \\|$")
	cur := ""
	for _, line := range strings.Split(ref, "\n") {
		if m := head.FindStringSubmatch(line); m != nil {
			cur = m[1]
			if _, dup := sections[cur]; dup {
				t.Errorf("block %s is documented twice", cur)
			}
			sections[cur] = map[string]row{}
			order = append(order, cur)
			continue
		}
		if cur == "" {
			continue
		}
		if strings.HasPrefix(line, "Labels: ") {
			labels[cur] = strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(line, "Labels: "), ";", 2)[0], ".")
		}
		if strings.HasPrefix(line, "| `") {
			m := rowRE.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s: the row %q is not | `name` | type | default | `example` |", cur, line)
				continue
			}
			sections[cur][m[1]] = row{m[2], m[3], m[4]}
		}
	}
	var want []string
	for _, bs := range Schema() {
		want = append(want, bs.Path)
		rows, ok := sections[bs.Path]
		if !ok {
			t.Errorf("block %s is not documented in the attribute reference", bs.Path)
			continue
		}
		if got, w := labels[bs.Path], strings.Join(bs.Labels, ", "); got != w {
			t.Errorf("block %s: documented labels %q, schema has %q", bs.Path, got, w)
		}
		for _, a := range bs.Attrs {
			r, ok := rows[a.Name]
			if !ok {
				t.Errorf("%s.%s is not documented", bs.Path, a.Name)
				continue
			}
			if r.typ != a.Type {
				t.Errorf("%s.%s: documented type %q, schema has %q", bs.Path, a.Name, r.typ, a.Type)
			}
			if (r.def == "required") != a.Required {
				t.Errorf("%s.%s: documented default %q, and required is %v", bs.Path, a.Name, r.def, a.Required)
			}
			if strings.TrimSpace(r.example) == "" {
				t.Errorf("%s.%s has no example", bs.Path, a.Name)
			}
		}
		for name := range rows {
			if !slices.ContainsFunc(bs.Attrs, func(a AttrSchema) bool { return a.Name == name }) {
				t.Errorf("%s.%s is documented, and the schema has no such attribute", bs.Path, name)
			}
		}
	}
	for _, p := range order {
		if !slices.Contains(want, p) {
			t.Errorf("block %s is documented, and the schema has no such block", p)
		}
	}
	if len(want) < 20 {
		t.Errorf("Schema lists only %d blocks", len(want))
	}
}

// TestSuggestAttr: each name a new user writes is matched to the attribute
// meant, and none is offered where nothing is close.
func TestSuggestAttr(t *testing.T) {
	nodeGroup := []string{"roles", "instances", "cpu", "memory_mb", "instance_type", "ha", "storage_profile", "template", "attributes", "template_properties", "hosts"}
	app := []string{"cluster", "id", "cmd", "args", "instances", "cpus", "mem", "ports", "image", "network", "constraints", "env"}
	for _, tc := range []struct {
		name  string
		attrs []string
		want  string
	}{
		{"memory", nodeGroup, "memory_mb"},
		{"memory", app, "mem"},
		{"ram", nodeGroup, "memory_mb"},
		{"cpus", nodeGroup, "cpu"},
		{"cpu", app, "cpus"},
		{"count", app, "instances"},
		{"replicas", nodeGroup, "instances"},
		{"command", app, "cmd"},
		{"environment", app, "env"},
		{"port", app, "ports"},
		{"Memory_MB", nodeGroup, "memory_mb"},
		{"instance", nodeGroup, "instances"},
		{"profile", nodeGroup, "storage_profile"},
		{"xyzzy", nodeGroup, ""},
		{"datacenter", app, ""},
	} {
		if got := suggestAttr(tc.name, tc.attrs); got != tc.want {
			t.Errorf("suggestAttr(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
