package cachedir

import (
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	tests := []struct {
		name, opt, bundle, xdg, home, want string
	}{
		{"option wins", "/opt/c", "/b", "/x", "/h", "/opt/c"},
		{"BUNDLE_CACHE_DIR", "", "/b", "/x", "/h", "/b"},
		{"XDG_CACHE_HOME", "", "", "/x", "/h", filepath.Join("/x", "bundle")},
		{"relative XDG_CACHE_HOME ignored", "", "", "rel", "/h", filepath.Join("/h", ".cache", "bundle")},
		{"home", "", "", "", "/h", filepath.Join("/h", ".cache", "bundle")},
		{"nothing", "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BUNDLE_CACHE_DIR", tt.bundle)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			if got := Dir(tt.opt); got != tt.want {
				t.Errorf("Dir(%q) = %q, want %q", tt.opt, got, tt.want)
			}
		})
	}
}
