package verify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/internal/builttest"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/sbom"
)

// TestVerifyChecksSBOM: verify reads the SBOM from directories and archives
// and reports every RPM, image, template or file it misnames.
func TestVerifyChecksSBOM(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, "1")
	plan.Images = []*compiler.ImagePlan{{Name: "nginx", Ref: "nginx:1.7.9", Platforms: []string{"linux/amd64"}}}
	opts := builttest.Options(t)
	opts.Images = outtest.FakeImages{}
	res, err := builttest.Build(t.Context(), plan, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{res.Dir, res.Archive} {
		if rep := mustVerify(t, p, Options{}); !rep.SBOM {
			t.Errorf("verify %s did not check the SBOM", p)
		}
	}
	mdata, err := os.ReadFile(filepath.Join(res.Dir, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(mdata)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Images) == 0 || len(m.Templates) == 0 || len(m.Repos) == 0 {
		t.Fatalf("the test site lacks images, templates or repos: %+v", m)
	}
	good, err := os.ReadFile(filepath.Join(res.Dir, sbom.FileName))
	if err != nil {
		t.Fatal(err)
	}
	rpm := "rpm:" + m.Repos[0].Dir + "/" + m.Repos[0].Packages[0].Location
	// edit applies f to the component with bom-ref ref (or to the document
	// when ref is "").
	edit := func(ref string, f func(doc map[string]any, comps []any, i int) []any) []byte {
		var doc map[string]any
		if err := json.Unmarshal(good, &doc); err != nil {
			t.Fatal(err)
		}
		comps := doc["components"].([]any)
		for i, c := range comps {
			if c.(map[string]any)["bom-ref"] == ref {
				comps = f(doc, comps, i)
				break
			}
		}
		if ref == "" {
			comps = f(doc, comps, -1)
		}
		doc["components"] = comps
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	drop := func(_ map[string]any, cs []any, i int) []any { return append(cs[:i:i], cs[i+1:]...) }
	rehash := func(_ map[string]any, cs []any, i int) []any {
		cs[i].(map[string]any)["hashes"] = []any{map[string]any{"alg": "SHA-256", "content": strings.Repeat("0", 64)}}
		return cs
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"RPM missing", edit(rpm, drop), "does not name RPM"},
		{"RPM digest", edit(rpm, rehash), "names RPM " + strings.TrimPrefix(rpm, "rpm:") + " with sha256 0000"},
		{"image missing", edit("image:"+m.Images[0].Name, drop), "does not name image"},
		{"image digest", edit("image:"+m.Images[0].Name, func(_ map[string]any, cs []any, i int) []any {
			cs[i].(map[string]any)["version"] = "sha256:" + strings.Repeat("0", 64)
			return cs
		}), "names image"},
		{"template digest", edit("template:"+m.Templates[0].Name, rehash), "names template"},
		{"config file missing", edit("file:"+m.Files[0].Path, drop), "does not name file " + m.Files[0].Path},
		{"extra file", edit("", func(_ map[string]any, cs []any, _ int) []any {
			return append(cs, map[string]any{"bom-ref": "file:x", "type": "file", "name": "x",
				"properties": []any{map[string]any{"name": "bundle:path", "value": "x"}}})
		}), "names x, which is not in the bundle"},
		{"other bundle", edit("", func(doc map[string]any, cs []any, _ int) []any {
			doc["metadata"].(map[string]any)["component"].(map[string]any)["name"] = "other"
			return cs
		}), "describes other"},
		{"not CycloneDX", []byte(`{"spdxVersion":"SPDX-2.3"}`), "bomFormat"},
		{"not JSON", []byte("garbage"), "parsing sbom.cdx.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := &Report{}
			checkSBOM(m, c.data, rep)
			found := false
			for _, p := range rep.Problems {
				if p.Path == sbom.FileName && strings.Contains(p.Problem, c.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %+v, want one with %q", rep.Problems, c.want)
			}
		})
	}
	// Through Verify: a directory whose SBOM lost an RPM.
	if err := os.WriteFile(filepath.Join(res.Dir, sbom.FileName), cases[0].data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(t.Context(), res.Dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var named bool
	for _, p := range rep.Problems {
		named = named || p.Path == sbom.FileName && strings.Contains(p.Problem, "does not name RPM")
	}
	if !named {
		t.Errorf("verify of an edited SBOM: %+v", rep.Problems)
	}
}
