package iso8601

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		repeats int64
		start   string
		err     string
	}{
		{"R/2015-03-01T02:00:00Z/P1D", -1, "2015-03-01T02:00:00Z", ""},
		{"R10/2012-10-01T05:52:00Z/PT2S", 10, "2012-10-01T05:52:00Z", ""},
		{"R/2014-03-08T20:00:00.000Z/PT1H30M", -1, "2014-03-08T20:00:00Z", ""},
		{"R0/2015-03-01T02:00:00+01:00/P1W", 0, "2015-03-01T01:00:00Z", ""},
		{"R/2015-03-01T02:00:00Z/PT0.5S", -1, "2015-03-01T02:00:00Z", ""},
		{"R//P1D", 0, "", "no start"},
		{"R/2015-03-01/P1D", 0, "", "not an ISO 8601 date-time"},
		{"R/2015-03-01T02:00:00/P1D", 0, "", "not an ISO 8601 date-time"},
		{"X/2015-03-01T02:00:00Z/P1D", 0, "", "starts with R"},
		{"R-1/2015-03-01T02:00:00Z/P1D", 0, "", "not R or R followed by a count"},
		{"R/2015-03-01T02:00:00Z/1D", 0, "", "not an ISO 8601 period"},
		{"R/2015-03-01T02:00:00Z/P", 0, "", "not an ISO 8601 period"},
		{"R/2015-03-01T02:00:00Z/PT", 0, "", "not an ISO 8601 period"},
		{"R/2015-03-01T02:00:00Z/P0D", 0, "", "is zero"},
		{"0 2 * * *", 0, "", "not an ISO 8601 repeating interval"},
	} {
		sc, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if sc.Repeats != tc.repeats || sc.Start.UTC().Format(time.RFC3339) != tc.start {
			t.Errorf("Parse(%q) = %+v", tc.in, sc)
		}
	}
}
