package app

import (
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// action is the Fault's action summary: the manager's, or computed from the
// spec before the manager wrote one.
func action(f *chaosv1.Fault) string {
	if f.Status.Action != "" {
		return f.Status.Action
	}
	return f.Spec.FaultAction.Summary()
}

// phase is the Fault's phase, "Pending" before the manager saw it.
func phase(f *chaosv1.Fault) string {
	if f.Status.Phase == "" {
		return string(chaosv1.FaultPending)
	}
	return string(f.Status.Phase)
}

// timeLeft is the time until expiry as seen from now, "-" when the Fault
// has not started or has ended.
func timeLeft(f *chaosv1.Fault, now time.Time) string {
	if f.Status.ExpiryTime == nil || f.Status.Phase != chaosv1.FaultRunning {
		return "-"
	}
	left := f.Status.ExpiryTime.Sub(now).Round(time.Second)
	if left <= 0 {
		return "0s"
	}
	return left.String()
}

// age is how long ago t was, in kubectl's style.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// counters formats the counters that matter for the Fault's action.
func counters(f *chaosv1.Fault, c chaosv1.Counters) string {
	if f.Spec.Syscall != nil {
		return fmt.Sprintf("syscalls matched %d, failed %d", c.SyscallsMatched, c.SyscallsFailed)
	}
	if f.Spec.Network != nil && f.Spec.Network.Type == chaosv1.NetworkCorrupt {
		return fmt.Sprintf("packets matched %d, corrupted %d", c.PacketsMatched, c.PacketsCorrupted)
	}
	return fmt.Sprintf("packets matched %d, dropped %d", c.PacketsMatched, c.PacketsDropped)
}

// selector formats the pod selector on one line.
func selector(s chaosv1.PodSelector) string {
	var parts []string
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+string(s.MatchLabels[k]))
	}
	for _, e := range s.MatchExpressions {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", e.Key, strings.ToLower(string(e.Operator)), strings.Join(e.Values, ",")))
	}
	if len(s.PodNames) > 0 {
		parts = append(parts, "pods "+strings.Join(s.PodNames, ","))
	}
	if len(s.ContainerNames) > 0 {
		parts = append(parts, "containers "+strings.Join(s.ContainerNames, ","))
	}
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ", ")
}

// mode formats how many matching pods are hit.
func mode(s *chaosv1.FaultSpec) string {
	switch {
	case s.Mode == chaosv1.ModeFixed && s.Count != nil:
		return fmt.Sprintf("Fixed (%d pods)", *s.Count)
	case s.Mode == chaosv1.ModePercent && s.Percent != nil:
		return fmt.Sprintf("Percent (%d%%)", *s.Percent)
	case s.Mode == "":
		return string(chaosv1.ModeAll)
	}
	return string(s.Mode)
}

// completion is the message of the condition that ended the Fault.
func completion(f *chaosv1.Fault) string {
	for _, t := range []string{chaosv1.ConditionCompleted, chaosv1.ConditionTargetsSelected, chaosv1.ConditionInjected} {
		for _, c := range f.Status.Conditions {
			if c.Type == t && (f.Status.Phase == chaosv1.FaultFailed) == (c.Status == metav1.ConditionFalse) {
				return c.Reason + ": " + c.Message
			}
		}
	}
	for _, n := range f.Status.Nodes {
		if n.Message != "" {
			return n.NodeName + ": " + n.Message
		}
	}
	return ""
}

func metav1Time(t time.Time) metav1.Time { return metav1.NewTime(t) }
