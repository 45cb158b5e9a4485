package iso8601

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed repeating interval.
type Schedule struct {
	// Repeats is how many times the job runs; -1 is forever ("R/").
	Repeats int64
	Start   time.Time
	Period  string
}

var period = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

// Parse parses R[n]/start/period.
func Parse(s string) (Schedule, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Schedule{}, fmt.Errorf("%q is not an ISO 8601 repeating interval R[n]/start/period (e.g. R/2015-03-01T02:00:00Z/P1D)", s)
	}
	var sc Schedule
	r := parts[0]
	switch {
	case r == "R":
		sc.Repeats = -1
	case strings.HasPrefix(r, "R"):
		n, err := strconv.ParseInt(r[1:], 10, 64)
		if err != nil || n < 0 || r[1] == '+' {
			return Schedule{}, fmt.Errorf("%q: the repetitions %q are not R or R followed by a count", s, r)
		}
		sc.Repeats = n
	default:
		return Schedule{}, fmt.Errorf("%q: a repeating interval starts with R (R for forever, R5 for five times), not %q", s, r)
	}
	if parts[1] == "" {
		return Schedule{}, fmt.Errorf("%q has no start: Chronos would start it whenever it is posted; give a date-time such as 2015-03-01T02:00:00Z", s)
	}
	t, err := parseTime(parts[1])
	if err != nil {
		return Schedule{}, fmt.Errorf("%q: the start %q is not an ISO 8601 date-time with a zone (2015-03-01T02:00:00Z)", s, parts[1])
	}
	sc.Start = t
	if err := checkPeriod(parts[2]); err != nil {
		return Schedule{}, fmt.Errorf("%q: %w", s, err)
	}
	sc.Period = parts[2]
	return sc, nil
}

func parseTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date-time")
}

// CheckPeriod checks a Joda standard period (PT60S, P1DT12H).
func CheckPeriod(p string) error { return checkPeriod(p) }

func checkPeriod(p string) error {
	m := period.FindStringSubmatch(p)
	if m == nil || p == "P" || strings.HasSuffix(p, "T") {
		return fmt.Errorf("the period %q is not an ISO 8601 period PnYnMnWnDTnHnMnS (P1D, PT30M)", p)
	}
	zero := true
	for _, x := range m[1:] {
		if x != "" && strings.Trim(x, "0.,") != "" {
			zero = false
		}
		// Joda (which Chronos parses periods with) reads each field as a
		// Java int and refuses one that overflows it.
		whole, _, _ := strings.Cut(strings.ReplaceAll(x, ",", "."), ".")
		if x != "" {
			if _, err := strconv.ParseInt(whole, 10, 32); err != nil {
				return fmt.Errorf("the period %q has a field beyond 2147483647, which Chronos cannot read", p)
			}
		}
	}
	if zero {
		return fmt.Errorf("the period %q is zero", p)
	}
	return nil
}
