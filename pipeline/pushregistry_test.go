package pipeline

import (
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/manifest"
)

// TestPushRegistryWarnings: pushing elsewhere than the site registry warns,
// and says that the apps of Docker < 1.6 clusters pull nothing when the
// bundle carries docker load archives.
func TestPushRegistryWarnings(t *testing.T) {
	archive := []manifest.FileEntry{{Path: "serengeti/www/docker/nginx.tar"}}
	tests := []struct {
		name     string
		site     string
		asked    string
		files    []manifest.FileEntry
		want     string // the registry pushed to
		warn     []string
		noWarn   bool
		usageErr bool
	}{
		{name: "site registry", site: "registry.localdomain:5000", want: "registry.localdomain:5000", noWarn: true},
		{name: "no registry at all", usageErr: true},
		{name: "elsewhere", site: "registry.localdomain:5000", asked: "127.0.0.1:5000/", want: "127.0.0.1:5000",
			warn: []string{"pull their images from registry.localdomain:5000"}},
		{name: "elsewhere with archives", site: "registry.localdomain:5000", asked: "127.0.0.1:5000", files: archive, want: "127.0.0.1:5000",
			warn: []string{"pull their images from registry.localdomain:5000", "before 1.6 pull nothing"}},
		{name: "no site registry", asked: "127.0.0.1:5000", want: "127.0.0.1:5000",
			warn: []string{"names no site registry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &manifest.Manifest{Name: "site", Version: "1", SiteRegistry: tt.site, Files: tt.files}
			var rep PushReport
			var warned []string
			got, err := pushRegistry(m, tt.asked, &rep, func(w string) { warned = append(warned, w) })
			if tt.usageErr {
				if err == nil {
					t.Fatalf("pushed to %q, want a usage error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("pushRegistry = %q, %v; want %q", got, err, tt.want)
			}
			if tt.noWarn {
				if len(warned) != 0 || len(rep.Warnings) != 0 {
					t.Fatalf("warned %q", warned)
				}
				return
			}
			if len(warned) != 1 || len(rep.Warnings) != 1 {
				t.Fatalf("warned %q, report %q; want one warning", warned, rep.Warnings)
			}
			for _, w := range tt.warn {
				if !strings.Contains(warned[0], w) {
					t.Errorf("warning %q lacks %q", warned[0], w)
				}
			}
			if !strings.Contains(strings.Join(tt.warn, " "), "before 1.6") && strings.Contains(warned[0], "before 1.6") {
				t.Errorf("warning %q speaks of docker load archives the bundle does not carry", warned[0])
			}
		})
	}
}
