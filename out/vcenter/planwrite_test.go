package vcenter

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPlanWriteColumns: long RPM paths widen the name column for every
// line, so sizes and places stay aligned, and an unchanged kind holding one
// object says "(1 object)".
func TestPlanWriteColumns(t *testing.T) {
	long := "serengeti/www/yum/repos/mesos/0.22.0/mesosphere-zookeeper-3.4.6-0.1.20141204175332.centos6.x86_64.rpm"
	p := &DeployPlan{Bundle: "site", Version: "1.0.0", Server: "vc.example", Datacenter: "DC1", Datastore: "ds1", DatastorePath: "bundles/site",
		Items: []Item{
			{Kind: KindFile, Name: long, Action: Create, Size: 3 << 20},
			{Kind: KindFile, Name: "serengeti/www/yum/mesos.repo", Action: Update, Size: 120},
			{Kind: KindFile, Name: "serengeti/www/distros/manifest", Action: Leave, Size: 900},
			{Kind: KindTemplate, Name: "centos6", Action: Leave, Size: 1 << 30},
			{Kind: KindTemplate, Name: "centos6-c1-slave", Action: Leave, Size: 1 << 30},
		}}
	var buf bytes.Buffer
	if err := p.Write(&buf, false); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	golden := filepath.Join("testdata", "plan_columns.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	// Every item line's size ends at the same column.
	ends := map[int]bool{}
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		for _, unit := range []string{" B", " KiB", " MiB", " GiB"} {
			if i := strings.Index(line, unit+"  "); i > 0 {
				ends[i+len(unit)] = true
				break
			}
		}
	}
	if len(ends) != 1 {
		t.Errorf("the size column is not aligned (ends at %v):\n%s", ends, got)
	}
	if !strings.Contains(got, "(1 object) ") || !strings.Contains(got, "(2 objects)") {
		t.Errorf("unchanged counts not pluralized right:\n%s", got)
	}
}
