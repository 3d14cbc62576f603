package controllers

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

func mustParse(t *testing.T, expr string, tz *string) *cronSchedule {
	t.Helper()
	cs, err := parseSchedule(&chaosv1.FaultScheduleSpec{Schedule: expr, TimeZone: tz})
	if err != nil {
		t.Fatalf("parse %q: %v", expr, err)
	}
	return cs
}

func TestScheduleTimeZone(t *testing.T) {
	cs := mustParse(t, "0 9 * * *", ptr.To("Europe/Paris"))
	for _, tc := range []struct{ from, want string }{
		{"2027-01-15T00:00:00Z", "2027-01-15T08:00:00Z"}, // CET, UTC+1
		{"2027-07-15T00:00:00Z", "2027-07-15T07:00:00Z"}, // CEST, UTC+2
		{"2027-01-15T08:00:00Z", "2027-01-16T08:00:00Z"}, // strictly after
	} {
		from, _ := time.Parse(time.RFC3339, tc.from)
		if got := cs.next(from).Format(time.RFC3339); got != tc.want {
			t.Errorf("next after %s = %s, want %s", tc.from, got, tc.want)
		}
	}
}

// TestMostRecentMatchesWalk checks the look-back used past 100 missed runs
// against a plain walk over every run time.
func TestMostRecentMatchesWalk(t *testing.T) {
	start, _ := time.Parse(time.RFC3339, "2027-03-01T10:00:30Z")
	for _, expr := range []string{"* * * * *", "*/7 * * * *", "0 9 * * 1-5", "15 */3 * * *", "0-5 9 * * *", "@daily"} {
		cs := mustParse(t, expr, ptr.To("America/New_York"))
		for _, gap := range []time.Duration{30 * time.Second, 90 * time.Minute, 26 * time.Hour, 40 * 24 * time.Hour} {
			now := start.Add(gap)
			var want time.Time
			n := 0
			for tm := cs.next(start); !tm.After(now); tm = cs.next(tm) {
				want, n = tm, n+1
			}
			got, count := cs.mostRecent(start, now)
			if !got.Equal(want) {
				t.Errorf("%q over %s: most recent %s, want %s", expr, gap, got, want)
			}
			if min(n, maxMissedRuns+1) != count {
				t.Errorf("%q over %s: count %d, want %d", expr, gap, count, min(n, maxMissedRuns+1))
			}
		}
	}
}

func TestParseScheduleRefuses(t *testing.T) {
	for _, tc := range []struct {
		expr, tz, reason string
	}{
		{"61 * * * *", "", chaosv1.ReasonInvalidSchedule},
		{"0 0 30 2 *", "", chaosv1.ReasonInvalidSchedule},
		{"@every 1m", "", chaosv1.ReasonInvalidSchedule},
		{"TZ=UTC * * * * *", "", chaosv1.ReasonInvalidSchedule},
		{"* * * * *", "Mars/Olympus_Mons", chaosv1.ReasonInvalidTimeZone},
		{"* * * * *", "Local", chaosv1.ReasonInvalidTimeZone},
	} {
		spec := &chaosv1.FaultScheduleSpec{Schedule: tc.expr}
		if tc.tz != "" {
			spec.TimeZone = ptr.To(tc.tz)
		}
		_, err := parseSchedule(spec)
		se, ok := err.(*scheduleError)
		if !ok || se.reason != tc.reason {
			t.Errorf("parse %q in %q: error %v, want reason %s", tc.expr, tc.tz, err, tc.reason)
		}
	}
}
