package inputfacts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
)

// TestRegistriesModes: without the network, an unpinned registry image is
// a warning when checking (validate, build --plan) and an error offline
// (build --offline and validate --offline); neither asks the registry.
func TestRegistriesModes(t *testing.T) {
	dir := t.TempDir()
	src := "bundle \"s\" {\n  version = \"1\"\n}\n\nimage \"app\" {\n  ref      = \"registry.invalid:5000/team/app:1.0\"\n  platform = \"linux/amd64\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	d, diags := sitedef.Load(dir, sitedef.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, tt := range []struct {
		mode Registries
		sev  hcl.DiagnosticSeverity
		want string
	}{
		{RegistriesCheck, hcl.DiagWarning, "not pinned"},
		{RegistriesOffline, hcl.DiagError, "network is off"},
	} {
		g, diags := Gather(context.Background(), d, Options{Registries: tt.mode, NoCache: true})
		if g == nil || g.Facts == nil {
			t.Fatalf("mode %d: no facts", tt.mode)
		}
		if len(diags) != 1 || diags[0].Severity != tt.sev || !strings.Contains(diags[0].Error(), tt.want) || diags[0].Subject == nil || diags[0].Subject.Start.Line != 6 {
			t.Errorf("mode %d: %v, want one diagnostic of severity %d at line 6 saying %q", tt.mode, diags, tt.sev, tt.want)
		}
		if _, ok := g.Facts.Images["app"]; ok {
			t.Errorf("mode %d: an image fact without resolving it", tt.mode)
		}
	}
}
