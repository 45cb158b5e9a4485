package vcenter

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the applier's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureDebug sends slog's default logger's records, debug included, to a
// buffer until the test ends, and returns a function listing the records
// with message msg.
func captureDebug(t *testing.T) func(msg string) []map[string]any {
	t.Helper()
	buf := &syncBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })
	return func(msg string) []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
				out = append(out, m)
			}
		}
		return out
	}
}

// TestDeployLogsSkipsAndRetries: a re-deploy logs every upload and import
// it skips with the reason; a transient failure logs its retry.
func TestDeployLogsSkipsAndRetries(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	spec := baseSpec("2015.03.1")
	dir := spec.write(t, t.TempDir())
	cfg := s.config(t, spec.target, Overrides{})
	records := captureDebug(t)
	if _, err := Deploy(ctx, dir, cfg, deployOpts()); err != nil {
		t.Fatal(err)
	}
	if got := records("upload skipped"); len(got) != 0 {
		t.Fatalf("a first deploy skipped uploads: %v", got)
	}
	records = captureDebug(t)
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
	records = captureDebug(t)
	if out, err := Deploy(ctx, dir, cfg, deployOpts()); err != nil || out.Retried != 1 {
		t.Fatalf("deploy with a transient failure: %v, retried %d", err, out.Retried)
	}
	got := records("vcenter retry")
	if len(got) != 1 || got[0]["attempt"] != float64(1) || !strings.Contains(got[0]["reason"].(string), "injected") {
		t.Errorf("retry records %v, want one with attempt 1 and the injected error", got)
	}
}
