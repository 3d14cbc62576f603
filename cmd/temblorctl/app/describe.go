package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/attach"
)

// describeCmd shows one Fault in detail: spec, targets, each node's
// injection as its agent reports it, counters, conditions and events.
func describeCmd(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("describe")
	names, err := parse(fs, args)
	if err != nil {
		return 2
	}
	cl, f, code := a.oneFault(ctx, "describe", names)
	if f == nil {
		return code
	}
	var injections chaosv1.FaultInjectionList
	if err := cl.c.List(ctx, &injections, client.InNamespace(f.Namespace),
		client.MatchingLabels{chaosv1.LabelFault: chaosv1.LabelValue(f.Name)}); err != nil {
		return a.fail(fmt.Errorf("list injections of fault %s: %w", f.Name, err))
	}
	events, err := cl.events(ctx, f)
	if err != nil {
		fmt.Fprintf(a.io.Stderr, "warning: %v\n", err)
	}
	w := a.io.Stdout
	now := time.Now()
	describeSpec(w, f, now)
	describeAborts(w, f, now)
	describeNodes(w, f, injections.Items)
	describeConditions(w, f, now)
	describeEvents(w, events, now)
	return 0
}

func describeSpec(w io.Writer, f *chaosv1.Fault, now time.Time) {
	s := &f.Spec
	fmt.Fprintf(w, "Name:         %s\n", f.Name)
	fmt.Fprintf(w, "Namespace:    %s\n", f.Namespace)
	fmt.Fprintf(w, "Created:      %s (%s ago)\n", f.CreationTimestamp.UTC().Format(time.RFC3339), age(f.CreationTimestamp, now))
	fmt.Fprintf(w, "Action:       %s\n", s.FaultAction.Summary())
	fmt.Fprintf(w, "Selector:     %s\n", selector(s.Selector))
	fmt.Fprintf(w, "Mode:         %s\n", mode(s))
	fmt.Fprintf(w, "Duration:     %s\n", s.Duration.Duration)
	if s.DryRun {
		fmt.Fprintln(w, "Dry run:      yes (targets are reported, nothing is injected)")
	}
	fmt.Fprintf(w, "Phase:        %s\n", phase(f))
	if f.Status.StartTime != nil {
		fmt.Fprintf(w, "Started:      %s\n", f.Status.StartTime.UTC().Format(time.RFC3339))
	}
	if f.Status.ExpiryTime != nil {
		fmt.Fprintf(w, "Expires:      %s (left %s)\n", f.Status.ExpiryTime.UTC().Format(time.RFC3339), timeLeft(f, now))
	}
	if f.DeletionTimestamp != nil {
		fmt.Fprintf(w, "Deleting:     since %s (waiting for teardown)\n", f.DeletionTimestamp.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "Counters:     %s\n", counters(f, f.Status.Counters))
	fmt.Fprintf(w, "Targets:      %d\n", f.Status.TargetCount)
	if len(f.Status.Targets) > 0 {
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  POD\tNODE\tUID\tCONTAINERS")
		for _, t := range f.Status.Targets {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.NodeName, t.UID, orAll(t.ContainerIDs))
		}
		tw.Flush()
	}
}

// describeNodes shows each node: the rolled-up status, and the agent's
// per-target report while its FaultInjection exists.
func describeNodes(w io.Writer, f *chaosv1.Fault, injections []chaosv1.FaultInjection) {
	byNode := map[string]*chaosv1.FaultInjection{}
	for i := range injections {
		byNode[injections[i].Spec.NodeName] = &injections[i]
	}
	nodes := map[string]chaosv1.NodeStatus{}
	for _, n := range f.Status.Nodes {
		nodes[n.NodeName] = n
	}
	for name := range byNode {
		if _, ok := nodes[name]; !ok {
			nodes[name] = chaosv1.NodeStatus{NodeName: name}
		}
	}
	fmt.Fprintf(w, "Nodes:        %d\n", len(nodes))
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		n := nodes[name]
		fmt.Fprintf(w, "  %s: %s, %d/%d injected, %s\n", name, orPending(n.Phase), n.Injected, n.Targets, counters(f, n.Counters))
		if n.Message != "" {
			fmt.Fprintf(w, "    message: %s\n", n.Message)
		}
		fi := byNode[name]
		if fi == nil {
			fmt.Fprintln(w, "    (injection removed)")
			continue
		}
		for _, c := range fi.Status.Conditions {
			fmt.Fprintf(w, "    condition %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
		for _, t := range fi.Status.Targets {
			fmt.Fprintf(w, "    pod %s: %s", t.Name, t.State)
			if len(t.Methods) > 0 {
				fmt.Fprintf(w, " via %s", attach.JoinMethods(t.Methods))
			}
			fmt.Fprintf(w, "; %s\n", counters(f, t.Counters))
			if t.Message != "" {
				fmt.Fprintf(w, "      message: %s\n", t.Message)
			}
		}
	}
}

func describeConditions(w io.Writer, f *chaosv1.Fault, now time.Time) {
	fmt.Fprintln(w, "Conditions:")
	if len(f.Status.Conditions) == 0 {
		fmt.Fprintln(w, "  <none>")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
	for _, c := range f.Status.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, age(c.LastTransitionTime, now), c.Message)
	}
	tw.Flush()
}

// event is what describe shows of an Event of either API.
type event struct {
	when              time.Time
	typ, reason, note string
	count             int32
}

// events lists the Fault's events from events.k8s.io/v1, falling back to
// core v1 Events when that API is not served.
func (cl *cluster) events(ctx context.Context, f *chaosv1.Fault) ([]event, error) {
	var out []event
	var list eventsv1.EventList
	err := cl.c.List(ctx, &list, client.InNamespace(f.Namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("regarding.name", f.Name)})
	if err == nil {
		for _, e := range list.Items {
			if (e.Regarding.Kind != "" && e.Regarding.Kind != "Fault") || (e.Regarding.UID != "" && e.Regarding.UID != f.UID) {
				continue // another kind, or an earlier Fault of the same name
			}
			when := e.EventTime.Time
			if e.Series != nil {
				when = e.Series.LastObservedTime.Time
			} else if when.IsZero() {
				when = e.DeprecatedLastTimestamp.Time
			}
			count := int32(1)
			if e.Series != nil {
				count = e.Series.Count
			}
			out = append(out, event{when: when, typ: e.Type, reason: e.Reason, note: e.Note, count: count})
		}
		return sortEvents(out), nil
	}
	var core corev1.EventList
	if cerr := cl.c.List(ctx, &core, client.InNamespace(f.Namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("involvedObject.name", f.Name)}); cerr != nil {
		return nil, fmt.Errorf("list events of fault %s: %v; core/v1: %w", f.Name, err, cerr)
	}
	for _, e := range core.Items {
		if (e.InvolvedObject.Kind != "" && e.InvolvedObject.Kind != "Fault") || (e.InvolvedObject.UID != "" && e.InvolvedObject.UID != f.UID) {
			continue
		}
		when := e.LastTimestamp.Time
		if when.IsZero() {
			when = e.EventTime.Time
		}
		out = append(out, event{when: when, typ: e.Type, reason: e.Reason, note: e.Message, count: max(e.Count, 1)})
	}
	return sortEvents(out), nil
}

func sortEvents(es []event) []event {
	sort.SliceStable(es, func(i, j int) bool { return es[i].when.Before(es[j].when) })
	return es
}

func describeEvents(w io.Writer, es []event, now time.Time) {
	fmt.Fprintln(w, "Events:")
	if len(es) == 0 {
		fmt.Fprintln(w, "  <none>")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tREASON\tAGE\tCOUNT\tMESSAGE")
	for _, e := range es {
		ago := "<unknown>"
		if !e.when.IsZero() {
			ago = age(metav1Time(e.when), now)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", e.typ, e.reason, ago, e.count, e.note)
	}
	tw.Flush()
}

func orAll(ids []string) string {
	if len(ids) == 0 {
		return "<all>"
	}
	return strings.Join(ids, ",")
}
