package registry_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/testutil"
)

// TestPushRetriesAreLogged: a stream push's pass over failed blobs logs a
// debug record with the attempt, the blobs still to send and the error
// that caused it.
func TestPushRetriesAreLogged(t *testing.T) {
	src := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, src)
	dir := filepath.Join(t.TempDir(), "images")
	if _, err := images.Mirror(context.Background(), dir, fx.specs, images.Options{}); err != nil {
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
	if r := got[0]; r["attempt"] != float64(1) || !strings.Contains(r["reason"].(string), "503") || r["blobs"] != float64(1) {
		t.Errorf("push retry record %v, want attempt 1, 1 blob left and the 503", r)
	}
}
