package repo

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// captureDebug sends slog's default logger's records, debug included, to a
// buffer until the test ends, and returns a function listing the records
// with message msg.
func captureDebug(t *testing.T) func(msg string) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
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

// TestUpdateLogsReuse: an index with Update logs one debug record for the
// repo with how many packages were reused and read and why.
func TestUpdateLogsReuse(t *testing.T) {
	rpms := specFixtures(t)
	dir := t.TempDir()
	copyFiles(t, dir, rpms, testEpoch)
	indexDir(t, dir, IndexOptions{})
	records := captureDebug(t)
	res := indexDir(t, dir, IndexOptions{Update: true})
	got := records("repodata reused")
	if len(got) != 1 {
		t.Fatalf("%d \"repodata reused\" records, want 1: %v", len(got), got)
	}
	r := got[0]
	if r["repo"] != dir || r["reused"] != float64(res.Reused) || r["read"] != float64(res.Read) || res.Reused != len(rpms) {
		t.Errorf("record %v; want repo %s, reused %d, read %d (of %d)", r, dir, res.Reused, res.Read, len(rpms))
	}
	if reason, _ := r["reason"].(string); !strings.Contains(reason, "unchanged") {
		t.Errorf("reason %q", reason)
	}
	// Without Update nothing is said about reuse.
	records = captureDebug(t)
	indexDir(t, dir, IndexOptions{})
	if got := records("repodata reused"); len(got) != 0 {
		t.Errorf("a full index logged %v", got)
	}
}

// TestScanCacheLogsDecisions: each scan cache lookup logs a hit or miss
// with the path and the reason.
func TestScanCacheLogsDecisions(t *testing.T) {
	rpms := specFixtures(t)
	c, err := OpenScanCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.MinSize = 0
	records := captureDebug(t)
	for range 2 {
		if _, err := c.Scan(t.Context(), rpms, ScanOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		msg, reason string
	}{
		{"scan cache miss", "no entry"},
		{"scan cache hit", "unchanged"},
	}
	for _, tt := range tests {
		got := records(tt.msg)
		if len(got) != len(rpms) {
			t.Errorf("%d %q records, want %d", len(got), tt.msg, len(rpms))
		}
		for _, r := range got {
			if reason, _ := r["reason"].(string); r["path"] == nil || !strings.Contains(reason, tt.reason) {
				t.Errorf("record %v: want a path and a reason with %q", r, tt.reason)
			}
		}
	}
}
