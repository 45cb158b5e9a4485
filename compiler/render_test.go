package compiler

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
)

// TestJSONRoundTrip checks that every rendered JSON file parses and that
// unmarshal+marshal is stable.
func TestJSONRoundTrip(t *testing.T) {
	n := 0
	for _, f := range examplePlan(t).Files {
		if !strings.HasSuffix(f.Path, ".json") && f.Path != manifestPath && f.Path != specsMapPath {
			continue
		}
		n++
		var v1, v2 any
		if err := json.Unmarshal(f.Data, &v1); err != nil {
			t.Errorf("%s is not valid JSON: %v", f.Path, err)
			continue
		}
		b1, err := json.MarshalIndent(v1, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b1, &v2); err != nil {
			t.Fatal(err)
		}
		b2, _ := json.MarshalIndent(v2, "", "  ")
		if !reflect.DeepEqual(v1, v2) || !bytes.Equal(b1, b2) {
			t.Errorf("%s does not round-trip", f.Path)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, f.Data); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if err := json.Indent(&again, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		again.WriteByte('\n')
		if !bytes.Equal(again.Bytes(), f.Data) {
			t.Errorf("%s is not canonically indented", f.Path)
		}
	}
	if n < 8 {
		t.Fatalf("only %d JSON files rendered", n)
	}
}

// compileFacts compiles text with the stand-in facts changed by mutate.
func compileFacts(t *testing.T, text string, mutate func(*Facts)) (*Plan, hcl.Diagnostics) {
	t.Helper()
	dir := siteDir(t, text)
	d, diags := sitedef.Load(dir, sitedef.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diagText(diags))
	}
	f := gatherFacts(t, d, dir, exampleFacts())
	if mutate != nil {
		mutate(f)
	}
	return Compile(d, f)
}

// setFiles replaces the file list of package name in every repo.
func setFiles(name string, files ...string) func(*Facts) {
	return func(f *Facts) {
		for _, pkgs := range f.Packages {
			for i := range pkgs {
				if pkgs[i].Name == name {
					pkgs[i].Files = files
				}
			}
		}
	}
}
