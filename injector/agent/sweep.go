package agent

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve"
)

// sweepNode runs once at start: it removes Temblor's legacy tc filters from
// every pod network namespace on the node (found through the pods'
// processes, not the node's own) except those of the targets of the
// node's FaultInjections (swept when first tracked, see sweepTargets). A
// netlink tc filter outlives its agent, and a FaultInjection abandoned while
// the agent was down is never seen again. Network attaches wait for it.
func (a *Agent) sweepNode(ctx context.Context) error {
	a.sweepMu.Lock()
	defer a.sweepMu.Unlock()
	l := log.FromContext(ctx).WithName("start-up-sweep")
	start := time.Now()
	var list chaosv1.FaultInjectionList
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 1 << 30, Cap: 30 * time.Second}
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		err := a.APIReader.List(ctx, &list, client.MatchingLabels{chaosv1.LabelNode: chaosv1.LabelValue(a.NodeName)})
		if err != nil {
			l.Info("Could not list fault injections; retrying", "error", err.Error())
		}
		return err == nil, nil
	})
	if err != nil {
		return nil // shutting down
	}
	snap, err := a.Resolver.Snapshot(ctx)
	if err != nil {
		l.Error(err, "Could not sweep legacy tc filters at start: scan processes")
		return nil
	}
	skip := liveNetNS(snap, list.Items)
	swept, done := 0, map[uint64]bool{}
	for _, uid := range snap.PodUIDs() {
		pod, err := snap.Pod(uid)
		if err != nil || pod.HostNetwork || skip[pod.NetNS] || done[pod.NetNS] || (a.SweepPod != nil && !a.SweepPod(pod)) {
			continue
		}
		done[pod.NetNS] = true
		if err := a.sweepNetNS(ctx, pod.OpenNetNS, pod.NetNS); err != nil {
			l.Info("Could not sweep network namespace", "pod", uid, "netns", pod.NetNS, "error", err.Error())
			continue
		}
		swept++
	}
	l.Info("Swept legacy tc filters at start", "namespaces", swept, "skipped", len(skip), "took", time.Since(start).String())
	return nil
}

// liveNetNS returns the network namespaces of the targets of fis.
func liveNetNS(snap *podresolve.Snapshot, fis []chaosv1.FaultInjection) map[uint64]bool {
	out := map[uint64]bool{}
	for _, fi := range fis {
		for _, t := range fi.Spec.Targets {
			if pod, err := snap.Pod(t.PodUID); err == nil {
				out[pod.NetNS] = true
			}
		}
	}
	return out
}
