package vcenter

import (
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// TestDeployLogsSkipsAndRetries: a re-deploy logs every upload and import
// it skips with the reason; a transient failure logs its retry.
func TestDeployLogsSkipsAndRetries(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	spec := baseSpec("2015.03.1")
	dir := spec.write(t, t.TempDir())
	cfg := s.config(t, spec.target, Overrides{})
	records := testutil.CaptureDebug(t)
	if _, err := Deploy(ctx, dir, cfg, deployOpts()); err != nil {
		t.Fatal(err)
	}
	if got := records("upload skipped"); len(got) != 0 {
		t.Fatalf("a first deploy skipped uploads: %v", got)
	}
	records = testutil.CaptureDebug(t)
	out, err := Deploy(ctx, dir, cfg, deployOpts())
	if err != nil || !out.NoChanges {
		t.Fatalf("re-deploy: %v %+v", err, out)
	}
	files := records("upload skipped")
	if len(files) != 11 {
		t.Errorf("%d \"upload skipped\" records, want one per file (11)", len(files))
	}
	for _, r := range files {
		if p, _ := r["path"].(string); !strings.HasPrefix(p, "serengeti/") || r["reason"] != "unchanged, sha256 matches state" {
			t.Errorf("record %v", r)
		}
	}
	if got := records("import skipped"); len(got) != 1 || got[0]["template"] != "mesos-node" {
		t.Errorf("import skipped records %v, want one for mesos-node", got)
	}

	spec.templates = nil
	dir = spec.write(t, t.TempDir())
	cnt := &counter{failPut: 2, failOnce: true}
	cfg = s.config(t, spec.target, Overrides{DatastorePath: "retried"})
	cfg.WrapTransport = cnt.wrap
	records = testutil.CaptureDebug(t)
	if out, err := Deploy(ctx, dir, cfg, deployOpts()); err != nil || out.Retried != 1 {
		t.Fatalf("deploy with a transient failure: %v, retried %d", err, out.Retried)
	}
	got := records("vcenter retry")
	if len(got) != 1 || got[0]["attempt"] != float64(1) || !strings.Contains(got[0]["reason"].(string), "injected") {
		t.Errorf("retry records %v, want one with attempt 1 and the injected error", got)
	}
}
