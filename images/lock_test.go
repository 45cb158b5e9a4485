package images

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/layout"
)

func TestLockAndOffline(t *testing.T) {
	host := imagetest.StartGGCR(t, nil)
	fx := newFixture(t, host)
	ctx := context.Background()
	specs := make([]Spec, len(fx.specs))
	copy(specs, fx.specs)
	specs[1].Digest = "" // lock resolves the digest reference too
	locks, err := Lock(ctx, specs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range locks {
		if l.Digest != fx.WantSrc[l.Name] {
			t.Errorf("%s: locked %s, want %s", l.Name, l.Digest, fx.WantSrc[l.Name])
		}
	}

	// Pinned entries are kept without a look-up; UpdateLock resolves them.
	stale := []Spec{{Name: "app", Ref: host + "/library/app:1.0", Digest: "sha256:" + strings.Repeat("0", 64)}}
	kept, err := Lock(ctx, stale, Options{Offline: true})
	if err != nil || kept[0].Digest != stale[0].Digest {
		t.Errorf("pinned entry: %v %v", kept, err)
	}
	updated, err := Lock(ctx, stale, Options{UpdateLock: true})
	if err != nil || updated[0].Digest != fx.Want["app"] {
		t.Errorf("updated entry: %v %v", updated, err)
	}
	if _, err := Lock(ctx, []Spec{{Name: "app", Ref: host + "/library/app:1.0"}}, Options{Offline: true}); err == nil || !strings.Contains(err.Error(), "network is off") {
		t.Errorf("offline lock of a registry ref: %v", err)
	}
	if _, err := Lock(ctx, []Spec{{Name: "m", Ref: host + "/multi:1", Platforms: []string{"linux/mips"}}}, Options{}); err == nil || !strings.Contains(err.Error(), "linux/mips") {
		t.Errorf("lock of a missing platform: %v", err)
	}

	// Mirror with the lock applied, then again offline: pinned registry
	// images come from the layout being replaced.
	for i := range specs {
		specs[i].Digest = locks[i].Digest
	}
	dir := filepath.Join(t.TempDir(), "images")
	online, err := Mirror(ctx, dir, specs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	offline, err := Mirror(ctx, dir, specs, Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(online, offline) {
		t.Errorf("offline results differ:\n%+v\n%+v", online, offline)
	}
	after := tree(t, dir)
	for p, b := range before {
		if string(after[p]) != string(b) {
			t.Errorf("%s changed in the offline mirror", p)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d files after, %d before", len(after), len(before))
	}
	// A digest the previous layout does not hold is refused offline.
	specs[0].Digest = "sha256:" + strings.Repeat("1", 64)
	if _, err := Mirror(ctx, dir, specs, Options{Offline: true}); err == nil || !strings.Contains(err.Error(), "network is off") {
		t.Errorf("offline mirror of an unknown digest: %v", err)
	}
	if err := layout.Verify(ctx, dir); err != nil {
		t.Errorf("layout damaged by the refused mirrors: %v", err)
	}
}
