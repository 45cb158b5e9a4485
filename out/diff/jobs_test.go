package diff

import (
	"strings"
	"testing"

	"github.com/bdebundle/bundle/out/manifest"
)

func TestJobChanges(t *testing.T) {
	old := []manifest.JobEntry{
		{Name: "backup", Schedule: "R/2015-03-01T02:00:00Z/P1D"},
		{Name: "verify", Parents: []string{"backup"}},
		{Name: "gone", Schedule: "R/2015-03-01T02:00:00Z/P1W"},
	}
	cur := []manifest.JobEntry{
		{Name: "backup", Schedule: "R/2015-03-01T02:00:00Z/PT12H", Image: "tools"},
		{Name: "verify", Parents: []string{"backup"}},
		{Name: "report", Parents: []string{"verify"}},
	}
	var got []string
	for _, c := range jobChanges("mesos01", old, cur) {
		got = append(got, c.Change+" "+c.Job+": "+c.Detail)
	}
	want := []string{
		Changed + ` backup: schedule R/2015-03-01T02:00:00Z/P1D -> schedule R/2015-03-01T02:00:00Z/PT12H, image "" -> "tools"`,
		Added + " report: after verify",
		Removed + " gone: ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
