package manifest

import (
	"bytes"
	"testing"
)

// TestJobsEntry: a cluster's jobs are sorted by name and carried through
// Encode and Parse; a cluster without jobs has no "jobs" key, so bundles
// without jobs keep their bytes.
func TestJobsEntry(t *testing.T) {
	m := &Manifest{Schema: Schema, Name: "s", Version: "1", Clusters: []ClusterEntry{
		{Name: "a", Jobs: []JobEntry{{Name: "verify", Parents: []string{"backup"}}, {Name: "backup", Schedule: "R/2015-03-01T02:00:00Z/P1D"}}},
		{Name: "b"},
	}}
	m.Normalize()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte(`"jobs"`)) != 1 {
		t.Fatalf("want one jobs key:\n%s", b)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	js := back.Clusters[0].Jobs
	if len(js) != 2 || js[0].Name != "backup" || js[1].Parents[0] != "backup" {
		t.Fatalf("jobs %+v", js)
	}
}
