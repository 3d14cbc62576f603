package app

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// describeAborts shows what aborted the Fault, if anything, and each abort
// condition with its last evaluation.
func describeAborts(w io.Writer, f *chaosv1.Fault, now time.Time) {
	if a := f.Status.Abort; a != nil {
		fmt.Fprintf(w, "Aborted:      by %s at %s (%s ago), observed %s\n",
			a.Condition, a.Time.UTC().Format(time.RFC3339Nano), now.Sub(a.Time.Time).Round(time.Second), a.Value)
	}
	if len(f.Spec.AbortConditions) == 0 {
		return
	}
	fmt.Fprintln(w, "Abort conditions:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tCHECK\tEVERY\tTHRESHOLD\tON ERROR\tLAST\tVALUE\tEVALUATIONS\tFAILURES")
	for i := range f.Spec.AbortConditions {
		c := &f.Spec.AbortConditions[i]
		st := chaosv1.AbortCheckStatus{}
		for _, s := range f.Status.AbortChecks {
			if s.Name == c.Name {
				st = s
			}
		}
		last := "-"
		if st.LastTime != nil {
			last = fmt.Sprintf("%s %s ago", st.LastResult, now.Sub(st.LastTime.Time).Round(time.Second))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d (%d in a row)\n", c.Name, abortCheck(c), abortEvery(c),
			max(c.FailureThreshold, 1), orDefault(string(c.OnError), string(chaosv1.AbortOnErrorAbort)), last,
			orDefault(st.LastValue, "-"), st.Evaluations, st.Failures, st.ConsecutiveFailures)
	}
	tw.Flush()
}

// abortCheck says in a few words what a condition checks.
func abortCheck(c *chaosv1.AbortCondition) string {
	switch {
	case c.HTTP != nil:
		return "GET " + c.HTTP.URL
	case c.Pods != nil:
		sel := chaosv1.PodSelector{MatchLabels: c.Pods.MatchLabels}
		return fmt.Sprintf("pods %s ready >= %d%%", selector(sel), c.Pods.MinReadyPercent)
	case c.Prometheus != nil:
		p := c.Prometheus
		switch {
		case p.FailBelow != nil && p.FailAbove != nil:
			return fmt.Sprintf("query %s within %s..%s", p.Query, *p.FailBelow, *p.FailAbove)
		case p.FailBelow != nil:
			return fmt.Sprintf("query %s >= %s", p.Query, *p.FailBelow)
		case p.FailAbove != nil:
			return fmt.Sprintf("query %s <= %s", p.Query, *p.FailAbove)
		}
		return "query " + p.Query
	}
	return "-"
}

// abortEvery is a condition's period, its default when unset.
func abortEvery(c *chaosv1.AbortCondition) string {
	if c.Period == nil {
		return "5s"
	}
	return c.Period.Duration.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
