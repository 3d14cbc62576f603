package controllers

import (
	"fmt"
	"strings"
	"time"
	// The manager's image may carry no zoneinfo: embed the IANA database so
	// that spec.timeZone means the same everywhere.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// maxMissedRuns is how many missed runs are counted before a schedule
// without startingDeadlineSeconds is reported as having missed too many
// (CronJob's limit).
const maxMissedRuns = 100

// cronSchedule is a parsed spec.schedule read in its time zone.
type cronSchedule struct {
	sched cron.Schedule
	loc   *time.Location
}

// scheduleError is a spec.schedule or spec.timeZone that cannot be used;
// reason is the condition reason that says which.
type scheduleError struct {
	reason string
	msg    string
}

func (e *scheduleError) Error() string { return e.msg }

// parseSchedule parses spec.schedule and spec.timeZone. The CRD refuses most
// bad input at apply; what it cannot check (a field out of range, a zone
// that does not exist) comes back as a *scheduleError.
func parseSchedule(spec *chaosv1.FaultScheduleSpec) (*cronSchedule, error) {
	expr := strings.TrimSpace(spec.Schedule)
	if strings.Contains(expr, "TZ=") || strings.HasPrefix(expr, "@every") {
		return nil, &scheduleError{chaosv1.ReasonInvalidSchedule,
			fmt.Sprintf("schedule %q: use five cron fields or a descriptor such as @hourly, and spec.timeZone for the zone", spec.Schedule)}
	}
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, &scheduleError{chaosv1.ReasonInvalidSchedule, fmt.Sprintf("schedule %q: %v", spec.Schedule, err)}
	}
	loc := time.UTC
	if spec.TimeZone != nil {
		name := *spec.TimeZone
		if strings.EqualFold(name, "local") {
			return nil, &scheduleError{chaosv1.ReasonInvalidTimeZone, "timeZone Local is refused: name an IANA zone such as UTC or Europe/Paris"}
		}
		loc, err = time.LoadLocation(name)
		if err != nil {
			return nil, &scheduleError{chaosv1.ReasonInvalidTimeZone, fmt.Sprintf("timeZone %q is not an IANA time zone: %v", name, err)}
		}
	}
	cs := &cronSchedule{sched: sched, loc: loc}
	// robfig/cron gives up (zero time) when nothing matches within five
	// years, e.g. "0 0 30 2 *": such a schedule would never run.
	if cs.next(time.Now()).IsZero() {
		return nil, &scheduleError{chaosv1.ReasonInvalidSchedule, fmt.Sprintf("schedule %q never fires", spec.Schedule)}
	}
	return cs, nil
}

// next is the first run time strictly after t (zero when there is none).
func (c *cronSchedule) next(t time.Time) time.Time {
	n := c.sched.Next(t.In(c.loc))
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// mostRecent returns the latest run time in (earliest, now] and how many run
// times that interval holds, counted up to maxMissedRuns+1.
func (c *cronSchedule) mostRecent(earliest, now time.Time) (time.Time, int) {
	var last time.Time
	count := 0
	for t := c.next(earliest); !t.IsZero() && !t.After(now); t = c.next(t) {
		last, count = t, count+1
		if count > maxMissedRuns {
			// Too many to walk one by one: find the latest by looking
			// back from now over a doubling window.
			return c.latestUpTo(now, last), count
		}
	}
	return last, count
}

// latestUpTo returns the latest run time at or before now, given one known
// run time (floor) at or before it.
func (c *cronSchedule) latestUpTo(now, floor time.Time) time.Time {
	for w := time.Minute; now.Add(-w).After(floor); w *= 2 {
		if t := c.next(now.Add(-w)); !t.IsZero() && !t.After(now) {
			floor = t
			break
		}
	}
	for t := c.next(floor); !t.IsZero() && !t.After(now); t = c.next(t) {
		floor = t
	}
	return floor
}

// runName is the name of the Fault of the run of schedule due at t:
// "<schedule>-<unix minute>", the same on every manager, so that a restarted
// manager finds the run it already created instead of creating it again.
func runName(schedule string, t time.Time) string {
	return fmt.Sprintf("%s-%d", schedule, t.Unix()/60)
}
