package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// reportConflicts marks the nodes whose FaultInjection name is taken by a
// foreign object: Injected False with the reason, a pending NodeStatus, and
// a Warning Event unless the conflict was already reported.
func (r *FaultReconciler) reportConflicts(fault *chaosv1.Fault, conflicts map[string]string, alreadyReported bool) {
	if len(conflicts) == 0 {
		return
	}
	nodes := make([]string, 0, len(conflicts))
	for n := range conflicts {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	whys := make([]string, 0, len(nodes))
	byNode := nodesOf(fault.Status.Targets)
	for _, n := range nodes {
		whys = append(whys, conflicts[n])
		fault.Status.Nodes = setNodeStatus(fault.Status.Nodes, chaosv1.NodeStatus{
			NodeName: n, Phase: chaosv1.InjectionPending, Targets: int32(len(byNode[n])),
			Message: truncate(conflicts[n], 1024),
		})
	}
	var injected int32
	for _, ns := range fault.Status.Nodes {
		injected += ns.Injected
	}
	msg := truncate(fmt.Sprintf("%d of %d targets injected; %s", injected, len(fault.Status.Targets), strings.Join(whys, "; ")), 32768)
	if !alreadyReported {
		r.Recorder.Eventf(fault, nil, corev1.EventTypeWarning, chaosv1.ReasonInjectionConflict, "Inject", "%s", truncate(msg, maxNote))
	}
	r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonInjectionConflict, msg)
}

// setNodeStatus replaces or adds ns in nodes, kept sorted by node name.
func setNodeStatus(nodes []chaosv1.NodeStatus, ns chaosv1.NodeStatus) []chaosv1.NodeStatus {
	for i := range nodes {
		if nodes[i].NodeName == ns.NodeName {
			nodes[i] = ns
			return nodes
		}
	}
	nodes = append(nodes, ns)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].NodeName < nodes[j].NodeName })
	return nodes
}

// aggregate rolls the FaultInjections' agent reports up into the fault's
// status: per-node summaries, summed counters and the Injected condition.
func (r *FaultReconciler) aggregate(ctx context.Context, fault *chaosv1.Fault) error {
	injections, err := r.listInjections(ctx, fault)
	if err != nil {
		return err
	}
	var (
		injected, failed int32
		targets          = int32(len(fault.Status.Targets))
		problems         []string
	)
	// Start from the last roll-up: a node whose FaultInjection is already
	// gone (teardown confirmed) keeps its final counters.
	now := metav1.NewMicroTime(r.Clock.Now())
	byNode := make(map[string]chaosv1.NodeStatus, len(fault.Status.Nodes)+len(injections))
	for _, ns := range fault.Status.Nodes {
		byNode[ns.NodeName] = ns
	}
	live := make(map[string]bool, len(injections))
	for i := range injections {
		fi := &injections[i]
		live[fi.Spec.NodeName] = true
		ns := chaosv1.NodeStatus{NodeName: fi.Spec.NodeName, Phase: fi.Status.Phase,
			Targets: int32(len(fi.Spec.Targets)), Counters: fi.Status.Counters,
			FirstInjectedTime: byNode[fi.Spec.NodeName].FirstInjectedTime}
		if ns.Phase == "" {
			ns.Phase = chaosv1.InjectionPending
		}
		for _, ts := range fi.Status.Targets {
			switch ts.State {
			case chaosv1.TargetInjected:
				ns.Injected++
				if ns.FirstInjectedTime == nil {
					t := now
					if ts.InjectedTime != nil && ts.InjectedTime.Before(&now) {
						t = *ts.InjectedTime
					}
					ns.FirstInjectedTime = &t
				}
			case chaosv1.TargetFailed, chaosv1.TargetGone:
				failed++
				problems = append(problems, fmt.Sprintf("%s on %s: %s %s", ts.Name, fi.Spec.NodeName, ts.State, ts.Message))
			}
		}
		ns.Message = truncate(strings.Join(nodeMessages(fi), "; "), 1024)
		injected += ns.Injected
		byNode[ns.NodeName] = ns
	}
	nodes := make([]chaosv1.NodeStatus, 0, len(byNode))
	var counters chaosv1.Counters
	for _, ns := range byNode {
		if !live[ns.NodeName] {
			// Gone: its agent confirmed teardown (or the node went).
			ns.Phase = chaosv1.InjectionRemoved
			if ns.RemovedTime == nil {
				ns.RemovedTime = &now
			}
		}
		counters.Add(ns.Counters)
		nodes = append(nodes, ns)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].NodeName < nodes[j].NodeName })
	fault.Status.Nodes = nodes
	fault.Status.Counters = counters
	if injected > 0 && fault.Status.FirstInjectedTime == nil {
		fault.Status.FirstInjectedTime = &now
	}
	if len(injections) == 0 {
		return nil // all torn down: keep the last word on injection
	}
	// Targets of a node without a FaultInjection (not written yet, or its
	// name taken) count as pending: never claim them injected.
	pending := targets - injected - failed

	switch {
	case injected == targets:
		r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionTrue, chaosv1.ReasonAllInjected,
			fmt.Sprintf("all %d targets injected on %d nodes", targets, len(nodes)))
	case injected == 0 && pending == 0:
		r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonInjectionFailed,
			truncate("no target could be injected: "+strings.Join(problems, "; "), 32768))
	case failed > 0:
		r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonPartiallyInjected,
			truncate(fmt.Sprintf("%d of %d targets injected: %s", injected, targets, strings.Join(problems, "; ")), 32768))
	default:
		r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonInjectionPending,
			fmt.Sprintf("%d of %d targets injected, waiting for the node agents", injected, targets))
	}
	return nil
}

func nodeMessages(fi *chaosv1.FaultInjection) []string {
	var msgs []string
	for _, c := range fi.Status.Conditions {
		if c.Status == metav1.ConditionFalse && c.Message != "" {
			msgs = append(msgs, c.Message)
		}
	}
	return msgs
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut-- // never split a character
	}
	return s[:cut] + "..."
}

// formatTimeLeft renders the time to expiry for kubectl, to the second.
func formatTimeLeft(d time.Duration) string {
	return d.Round(time.Second).String()
}
