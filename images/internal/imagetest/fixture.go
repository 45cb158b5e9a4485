package imagetest

import (
	"path/filepath"
	"testing"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/demoinputs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Fixture is a source registry plus local sources, and the digests the
// mirrored images must have.
type Fixture struct {
	Host      string
	Specs     []Spec
	Want      map[string]string // name → digest in the layout
	WantSrc   map[string]string // name → digest the ref resolves to
	Indexes   map[string]bool   // names stored as an index
	Docker    map[string]bool   // names whose source has Docker media types
	Platforms map[string][]string
}

func NewFixture(t testing.TB, host string) Fixture {
	t.Helper()
	base, err := random.Layer(4096, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	app := PlatformImage(t, TestPlatforms[0], []v1.Layer{base}, 2, false)
	PushImage(t, host+"/library/app:1.0", app)
	idx := PushMultiIndex(t, host+"/multi:1", []v1.Layer{base})
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	arm := im.Manifests[1].Digest.String()

	dir := t.TempDir()
	archive := filepath.Join(dir, "nginx.tar")
	if err := demoinputs.NginxImage(archive, Epoch); err != nil {
		t.Fatal(err)
	}
	nginx, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(dir, "layout")
	lp, err := ggcrlayout.Write(lay, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	web := PlatformImage(t, TestPlatforms[0], []v1.Layer{base}, 1, true)
	if err := lp.AppendImage(web, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationRefName: "web"})); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(app, ggcrlayout.WithAnnotations(map[string]string{layout.AnnotationRefName: "other"})); err != nil {
		t.Fatal(err)
	}

	appD, idxD, nginxD, webD := DigestOf(t, app), DigestOf(t, idx), DigestOf(t, nginx), DigestOf(t, web)
	two := mutate.RemoveManifests(idx, func(d v1.Descriptor) bool { return d.Digest.String() == arm })
	twoD := DigestOf(t, two)
	return Fixture{
		Host: host,
		Specs: []Spec{
			{Name: "app", Ref: host + "/library/app:1.0"},
			{Name: "app-pinned", Ref: host + "/library/app@" + appD, Digest: appD},
			{Name: "multi", Ref: host + "/multi:1"},
			{Name: "multi-arm64", Ref: host + "/multi:1", Platforms: []string{"linux/arm64"}},
			{Name: "multi-two", Ref: host + "/multi:1", Platforms: []string{"linux/amd64", "linux/s390x"}},
			{Name: "nginx", Ref: "docker-archive:" + archive},
			{Name: "web", Ref: "oci-layout:" + lay + ":web"},
		},
		Want: map[string]string{
			"app": appD, "app-pinned": appD, "multi": idxD, "multi-arm64": arm,
			"multi-two": twoD, "nginx": nginxD, "web": webD,
		},
		WantSrc: map[string]string{
			"app": appD, "app-pinned": appD, "multi": idxD, "multi-arm64": idxD,
			"multi-two": idxD, "nginx": nginxD, "web": webD,
		},
		Indexes: map[string]bool{"multi": true, "multi-two": true},
		Docker:  map[string]bool{"app": true, "app-pinned": true, "nginx": true},
		Platforms: map[string][]string{
			"app": {"linux/amd64"}, "app-pinned": {"linux/amd64"},
			"multi":       {"linux/amd64", "linux/arm64/v8", "linux/s390x"},
			"multi-arm64": {"linux/arm64/v8"}, "multi-two": {"linux/amd64", "linux/s390x"},
			"nginx": {"linux/amd64"}, "web": {"linux/amd64"},
		},
	}
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Epoch is the time stamp of the fixture's docker archive.
const Epoch = 1426032000

// Spec is one image of a Fixture, as images.Spec names it.
type Spec struct {
	Name, Ref string
	Platforms []string
	Digest    string
}
