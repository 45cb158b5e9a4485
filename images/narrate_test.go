package images

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/testutil"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestPullRetriesAreLogged: a pull's retried blob logs a debug record
// with the digest, the attempt and the error that caused it.
func TestPullRetriesAreLogged(t *testing.T) {
	records := testutil.CaptureDebug(t)
	layer, err := random.Layer(64<<10, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	ld, _ := layer.Digest()
	var cuts atomic.Int32
	host := imagetest.StartGGCR(t, cutOnce(ld.String(), &cuts, 1))
	img := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], []v1.Layer{layer}, 0, true)
	imagetest.PushImage(t, host+"/app:1", img)
	if _, err := Mirror(context.Background(), filepath.Join(t.TempDir(), "images"), []Spec{{Name: "app", Ref: host + "/app:1"}}, Options{Options: registry.Options{Retries: 2, Backoff: time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	got := records("pull retry")
	if len(got) != 1 || got[0]["digest"] != ld.String() || got[0]["attempt"] != float64(1) {
		t.Errorf("pull retry records %v, want one for %s", got, ld)
	}
}
