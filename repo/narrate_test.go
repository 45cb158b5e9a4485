package repo

import (
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// TestUpdateLogsReuse: an index with Update logs one debug record for the
// repo with how many packages were reused and read and why.
func TestUpdateLogsReuse(t *testing.T) {
	rpms := rpmfixture.SpecFixtures(t)
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, rpms, rpmfixture.Epoch)
	indexDir(t, dir, IndexOptions{})
	records := testutil.CaptureDebug(t)
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
	records = testutil.CaptureDebug(t)
	indexDir(t, dir, IndexOptions{})
	if got := records("repodata reused"); len(got) != 0 {
		t.Errorf("a full index logged %v", got)
	}
}

// TestScanCacheLogsDecisions: each scan cache lookup logs a hit or miss
// with the path and the reason.
func TestScanCacheLogsDecisions(t *testing.T) {
	rpms := rpmfixture.SpecFixtures(t)
	c, err := OpenScanCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.MinSize = 0
	records := testutil.CaptureDebug(t)
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
