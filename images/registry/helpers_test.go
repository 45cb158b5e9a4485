package registry_test

import (
	"testing"

	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/internal/imagetest"
)

// fixture is imagetest's fixture with its specs as images.Mirror takes
// them.
type fixture struct {
	imagetest.Fixture
	specs []images.Spec
}

func newFixture(t testing.TB, host string) fixture {
	t.Helper()
	f := imagetest.NewFixture(t, host)
	return fixture{Fixture: f, specs: toSpecs(f.Specs)}
}

// toSpecs gives imagetest's specs as images.Mirror takes them.
func toSpecs(ss []imagetest.Spec) []images.Spec {
	var out []images.Spec
	for _, s := range ss {
		out = append(out, images.Spec{Name: s.Name, Ref: s.Ref, Platforms: s.Platforms, Digest: s.Digest})
	}
	return out
}
