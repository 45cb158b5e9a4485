package images

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
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

// TestRetriesAreLogged: a stream push's pass over failed blobs and a
// pull's retried blob each log a debug record with the attempt and the
// error that caused it.
func TestRetriesAreLogged(t *testing.T) {
	src := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := Mirror(context.Background(), dir, fx.specs, Options{}); err != nil {
		t.Fatal(err)
	}
	records := testutil.CaptureDebug(t)
	uc := &imagetest.UploadCounter{Fail: map[int64]int{2: http.StatusServiceUnavailable}}
	dst := imagetest.StartGGCR(t, func(h http.Handler) http.Handler { uc.H = h; return uc })
	if _, err := registry.PushStream(context.Background(), imagetest.DirWalk(dir), dst, registry.PushOptions{Options: registry.Options{Backoff: time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	got := records("push retry")
	if len(got) == 0 {
		t.Fatal("no push retry record")
	}
	if r := got[0]; r["attempt"] != float64(1) || !strings.Contains(r["reason"].(string), "503") {
		t.Errorf("push retry record %v, want attempt 1 and the 503", r)
	}

	layer, err := random.Layer(64<<10, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	ld, _ := layer.Digest()
	var cuts atomic.Int32
	host := imagetest.StartGGCR(t, cutOnce(ld.String(), &cuts, 1))
	img := imagetest.PlatformImage(t, imagetest.TestPlatforms[0], []v1.Layer{layer}, 0, true)
	imagetest.PushImage(t, host+"/app:1", img)
	records = testutil.CaptureDebug(t)
	if _, err := Mirror(context.Background(), filepath.Join(t.TempDir(), "images"), []Spec{{Name: "app", Ref: host + "/app:1"}}, Options{Options: registry.Options{Retries: 2, Backoff: time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	got = records("pull retry")
	if len(got) != 1 || got[0]["digest"] != ld.String() || got[0]["attempt"] != float64(1) {
		t.Errorf("pull retry records %v, want one for %s", got, ld)
	}
}
