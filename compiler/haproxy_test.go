package compiler

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// TestHAProxyConfigs runs every rendered haproxy.cfg through haproxy -c.
// The bundle's copy names the planned (placeholder) hosts, which do not
// resolve here, so -dr lets the check ignore resolution failures; on a node
// the cookbook puts the real host names in.
func TestHAProxyConfigs(t *testing.T) {
	bin := testutil.RequireTool(t, "haproxy", "haproxy")
	n := 0
	for _, f := range examplePlan(t).Files {
		if path.Base(f.Path) != "haproxy.cfg" {
			continue
		}
		n++
		cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(cfg, f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-c", "-dr", "-f", cfg).CombinedOutput()
		if err != nil {
			t.Errorf("haproxy -c rejects %s: %v\n%s", f.Path, err, out)
		}
		if !f.Sensitive {
			t.Errorf("%s holds the stats password but is not marked sensitive", f.Path)
		}
		if !bytes.Contains(f.Data, []byte("stats auth admin:change-me\n")) {
			t.Errorf("%s lacks the stats auth of the definition", f.Path)
		}
	}
	if n == 0 {
		t.Fatal("no haproxy.cfg rendered")
	}
}
