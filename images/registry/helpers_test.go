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
	fx := fixture{Fixture: f}
	for _, s := range f.Specs {
		fx.specs = append(fx.specs, images.Spec{Name: s.Name, Ref: s.Ref, Platforms: s.Platforms, Digest: s.Digest})
	}
	return fx
}
