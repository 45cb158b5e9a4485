package registry_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/internal/imagetest"
	"github.com/bdebundle/bundle/images/registry"
)

// TestIsNetwork: a registry that cannot be reached is a network failure;
// a registry's answer (no such tag, no such repository) and a local source
// that is not there are not.
func TestIsNetwork(t *testing.T) {
	host := imagetest.StartGGCR(t, nil)
	imagetest.PushImage(t, host+"/team/web:1", imagetest.PlatformImage(t, imagetest.TestPlatforms[0], nil, 100, false))
	for _, tc := range []struct {
		name, ref string
		want      bool
	}{
		{"registry down", "127.0.0.1:1/team/web:1", true},
		{"name that does not resolve", "no-such-host.invalid/team/web:1", true},
		{"unknown tag", host + "/team/web:404", false},
		{"unknown repository", host + "/team/nope:1", false},
		{"missing archive", "docker-archive:" + filepath.Join(t.TempDir(), "x.tar"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := images.Lock(context.Background(), []images.Spec{{Name: "web", Ref: tc.ref}}, images.Options{})
			if err == nil {
				t.Fatalf("Lock of %s succeeded", tc.ref)
			}
			if got := registry.IsNetwork(err); got != tc.want {
				t.Errorf("IsNetwork(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
}
