package imagetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushSharedImages pushes n images, bench/app0:1 to bench/app<n-1>:1, to
// the registry at host; all share baseLayers random 1 MiB base layers and
// each has one 2 KiB layer of its own. It returns their specs.
func PushSharedImages(b testing.TB, host string, n, baseLayers int) []Spec {
	b.Helper()
	var base []v1.Layer
	for range baseLayers {
		l, err := random.Layer(1<<20, types.OCILayer)
		if err != nil {
			b.Fatal(err)
		}
		base = append(base, l)
	}
	var specs []Spec
	for i := range n {
		img := PlatformImage(b, TestPlatforms[0], base, 1, true)
		r := fmt.Sprintf("%s/bench/app%d:1", host, i)
		PushImage(b, r, img)
		specs = append(specs, Spec{Name: fmt.Sprintf("app%d", i), Ref: r})
	}
	return specs
}

// BlobBytes sums the sizes of a layout's blobs.
func BlobBytes(b testing.TB, dir string) int64 {
	es, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		b.Fatal(err)
	}
	var sum int64
	for _, e := range es {
		info, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		sum += info.Size()
	}
	return sum
}
