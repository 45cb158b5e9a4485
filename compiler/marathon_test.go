package compiler

import (
	"strings"
	"testing"
)

// TestImageRef checks the image reference with a site registry, with facts
// and without, on a cluster whose Docker pulls by digest (docker-io 1.6.2);
// TestDockerLoadRef covers Docker before 1.6.
func TestImageRef(t *testing.T) {
	const exampleReg = "\n  registry       = \"registry.localdomain:5000\""
	if !strings.Contains(exampleHCL(t), exampleReg) {
		t.Fatal("the example no longer names its site registry")
	}
	withReg := strings.Replace(exampleHCL(t), exampleReg, "\n  registry       = \"registry.site:5000\"", 1)
	noReg := strings.Replace(exampleHCL(t), exampleReg, "", 1)
	for _, tc := range []struct {
		name, text string
		facts      *Facts
		want       string
	}{
		{"registry", withReg, exampleFacts(), `"image": "registry.site:5000/library/nginx@` + fixedDigest + `"`},
		{"no registry", noReg, exampleFacts(), `"image": "library/nginx@` + fixedDigest + `"`},
		{"no facts", withReg, nil, `"image": "docker-archive:images/nginx-1.7.9.tar"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := compileDocker(t, tc.text, tc.facts, "1.6.2")
			for _, f := range p.Files {
				if f.Path == "clusters/mesos01/marathon/nginx.json" {
					if !strings.Contains(string(f.Data), tc.want) {
						t.Errorf("nginx.json lacks %s:\n%s", tc.want, f.Data)
					}
					return
				}
			}
			t.Fatal("nginx.json not rendered")
		})
	}
}
