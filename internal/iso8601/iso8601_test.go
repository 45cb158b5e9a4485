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

// TestParseGarbage: malformed schedules get an error, never a panic or a
// Schedule.
func TestParseGarbage(t *testing.T) {
	for _, in := range []string{
		"", "/", "//", "R/", "R//", "R///", "R-1/2015-03-01T02:00:00Z/P1D", "R+1/2015-03-01T02:00:00Z/P1D",
		"R99999999999999999999/2015-03-01T02:00:00Z/P1D", "R1e3/2015-03-01T02:00:00Z/P1D",
		"R/2015-03-01T02:00:00Z/P", "R/2015-03-01T02:00:00Z/PT", "R/2015-03-01T02:00:00Z/P1DT",
		"R/2015-03-01T02:00:00Z/P99999999999D", "R/2015-03-01T02:00:00Z/PT99999999999999999999S",
		"R/2015-03-01T02:00:00Z/P-1D", "R/2015-03-01T02:00:00Z/P１D", "Ｒ/2015-03-01T02:00:00Z/P1D",
		"R/2015-13-01T02:00:00Z/P1D", "R/2015-03-01T25:00:00Z/P1D", "R/2015-03-01T02:00:00Z/P1D/x",
		"R/\x00/P1D", "R/2015-03-01T02:00:00Z/P1D\n", "R/" + strings.Repeat("9", 10000) + "/P1D",
		"R/2015-03-01T02:00:00Z/P" + strings.Repeat("1", 10000) + "D",
	} {
		if sc, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, sc)
		}
	}
	for _, p := range []string{"", "P", "PT", "P0D", "PT0.0S", "P2147483648D", "PT60", "60S", "P1DT"} {
		if err := CheckPeriod(p); err == nil {
			t.Errorf("CheckPeriod(%q) = nil, want an error", p)
		}
	}
	if err := CheckPeriod("P2147483647D"); err != nil {
		t.Errorf("CheckPeriod at the int limit: %v", err)
	}
}

// FuzzParse: Parse never panics, and what it accepts has a positive
// period and a count of -1 or more.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"R/2015-03-01T02:00:00Z/P1D", "R10/2012-10-01T05:52:00Z/PT2S", "R/", "R-1//P", "P1DT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := Parse(s)
		if err != nil {
			return
		}
		if sc.Repeats < -1 || CheckPeriod(sc.Period) != nil {
			t.Errorf("Parse(%q) = %+v", s, sc)
		}
	})
}
