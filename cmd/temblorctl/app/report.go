package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// Report is what happened in one Fault (a FaultSchedule's run is a Fault
// too), as `temblorctl report -o json` prints it for CI.
type Report struct {
	Namespace   string             `json:"namespace"`
	Name        string             `json:"name"`
	Action      string             `json:"action"`
	Phase       string             `json:"phase"`
	Outcome     string             `json:"outcome,omitempty"`
	Targets     []ReportTarget     `json:"targets"`
	Timeline    []ReportEvent      `json:"timeline"`
	Counters    chaosv1.Counters   `json:"counters"`
	Nodes       []ReportNode       `json:"nodes"`
	AbortChecks []ReportAbortCheck `json:"abortChecks,omitempty"`
}

// ReportTarget is one pod the Fault hit.
type ReportTarget struct {
	Pod  string `json:"pod"`
	Node string `json:"node"`
}

// ReportEvent is one step of the Fault's life.
type ReportEvent struct {
	Time time.Time `json:"time"`
	What string    `json:"what"`
	Node string    `json:"node,omitempty"`
}

// ReportNode is one node's part: its counters and its injection's life.
type ReportNode struct {
	Node     string           `json:"node"`
	Targets  int32            `json:"targets"`
	Injected int32            `json:"injected"`
	Counters chaosv1.Counters `json:"counters"`
}

// ReportAbortCheck is one abort condition and its evaluations over time.
type ReportAbortCheck struct {
	Name        string                `json:"name"`
	Check       string                `json:"check"`
	Evaluations int32                 `json:"evaluations"`
	Failures    int32                 `json:"failures"`
	History     []chaosv1.AbortSample `json:"history,omitempty"`
}

// reportCmd prints what happened in one Fault.
func reportCmd(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("report")
	output := fs.String("o", "table", "output format: table or json")
	names, err := parse(fs, args)
	if err != nil {
		return 2
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(a.io.Stderr, "error: report: -o %q: want table or json\n", *output)
		return 2
	}
	_, f, code := a.oneFault(ctx, "report", names)
	if f == nil {
		return code
	}
	r := buildReport(f)
	if *output == "json" {
		enc := json.NewEncoder(a.io.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return a.fail(fmt.Errorf("encode report: %w", err))
		}
		return 0
	}
	printReport(a.io.Stdout, r)
	return 0
}

// buildReport gathers f's report from its status.
func buildReport(f *chaosv1.Fault) Report {
	r := Report{Namespace: f.Namespace, Name: f.Name, Action: action(f), Phase: phase(f), Outcome: completion(f),
		Counters: f.Status.Counters, Targets: []ReportTarget{}, Nodes: []ReportNode{}}
	for _, t := range f.Status.Targets {
		r.Targets = append(r.Targets, ReportTarget{Pod: t.Name, Node: t.NodeName})
	}
	add := func(t time.Time, what, node string) {
		if !t.IsZero() {
			r.Timeline = append(r.Timeline, ReportEvent{Time: t.UTC(), What: what, Node: node})
		}
	}
	add(f.CreationTimestamp.Time, "created", "")
	if st := f.Status.StartTime; st != nil {
		add(st.Time, fmt.Sprintf("started: %d target(s) fixed", len(f.Status.Targets)), "")
	}
	for _, n := range f.Status.Nodes {
		r.Nodes = append(r.Nodes, ReportNode{Node: n.NodeName, Targets: n.Targets, Injected: n.Injected, Counters: n.Counters})
		if n.FirstInjectedTime != nil {
			add(n.FirstInjectedTime.Time, "injected", n.NodeName)
		}
		if n.RemovedTime != nil {
			add(n.RemovedTime.Time, "torn down (agent confirmed)", n.NodeName)
		}
	}
	if a := f.Status.Abort; a != nil {
		add(a.Time.Time, fmt.Sprintf("aborted by %s: %s", a.Condition, a.Value), "")
	} else if e := f.Status.ExpiryTime; e != nil && f.Status.Phase != chaosv1.FaultRunning && f.Status.Phase != chaosv1.FaultPending {
		add(e.Time, "expired", "")
	}
	if c := meta.FindStatusCondition(f.Status.Conditions, chaosv1.ConditionCompleted); c != nil && c.Status == "True" {
		// The condition's time has whole seconds only; the manager marks
		// completion in the pass that sees the last node's teardown.
		at := c.LastTransitionTime.Time
		for _, n := range f.Status.Nodes {
			if n.RemovedTime != nil && n.RemovedTime.After(at) {
				at = n.RemovedTime.Time
			}
		}
		add(at, "completed: "+c.Reason, "")
	}
	sort.SliceStable(r.Timeline, func(i, j int) bool { return r.Timeline[i].Time.Before(r.Timeline[j].Time) })
	for i := range f.Spec.AbortConditions {
		c := &f.Spec.AbortConditions[i]
		rc := ReportAbortCheck{Name: c.Name, Check: abortCheck(c)}
		for _, st := range f.Status.AbortChecks {
			if st.Name == c.Name {
				rc.Evaluations, rc.Failures, rc.History = st.Evaluations, st.Failures, st.History
			}
		}
		r.AbortChecks = append(r.AbortChecks, rc)
	}
	return r
}

// printReport writes r as tables.
func printReport(w io.Writer, r Report) {
	fmt.Fprintf(w, "Fault %s/%s: %s\nPhase: %s\n", r.Namespace, r.Name, r.Action, r.Phase)
	if r.Outcome != "" {
		fmt.Fprintf(w, "Outcome: %s\n", r.Outcome)
	}
	var start time.Time
	if len(r.Timeline) > 0 {
		start = r.Timeline[0].Time
	}
	fmt.Fprintln(w, "\nTimeline:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME\t+\tNODE\tWHAT")
	for _, e := range r.Timeline {
		fmt.Fprintf(tw, "  %s\t+%s\t%s\t%s\n", e.Time.Format("15:04:05.000"), e.Time.Sub(start).Round(time.Millisecond),
			orDefault(e.Node, "-"), e.What)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nTargets (%d):\n", len(r.Targets))
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  POD\tNODE")
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "  %s\t%s\n", t.Pod, t.Node)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nCounters:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tTARGETS\tINJECTED\tPKTS MATCHED\tDROPPED\tCORRUPTED\tSYSCALLS MATCHED\tFAILED")
	row := func(node string, targets, injected int32, c chaosv1.Counters) {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", node, targets, injected,
			c.PacketsMatched, c.PacketsDropped, c.PacketsCorrupted, c.SyscallsMatched, c.SyscallsFailed)
	}
	var targets, injected int32
	for _, n := range r.Nodes {
		row(n.Node, n.Targets, n.Injected, n.Counters)
		targets, injected = targets+n.Targets, injected+n.Injected
	}
	row("total", targets, injected, r.Counters)
	tw.Flush()

	for _, c := range r.AbortChecks {
		fmt.Fprintf(w, "\nAbort check %s (%s): %d evaluations, %d failed; last %d:\n",
			c.Name, c.Check, c.Evaluations, c.Failures, len(c.History))
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  TIME\t+\tRESULT\tVALUE")
		for _, s := range c.History {
			fmt.Fprintf(tw, "  %s\t+%s\t%s\t%s\n", s.Time.UTC().Format("15:04:05.000"),
				s.Time.Sub(start).Round(time.Millisecond), s.Result, s.Value)
		}
		tw.Flush()
	}
}
