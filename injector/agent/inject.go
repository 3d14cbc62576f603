package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/attach"
	"github.com/temblor-dev/temblor/injector/podresolve"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// Status field limits, from the CRD.
const (
	maxMessage = 1024
	maxMethods = 64
	maxMethod  = 128
)

// verifyTimeout bounds the read of the owning Fault before an attach.
const verifyTimeout = 10 * time.Second

// convert converts fi's action once for all its targets.
func (a *Agent) convert(fi *chaosv1.FaultInjection) (attach.Action, error) {
	return attach.Convert(fi.Spec.FaultAction, attach.Options{NetworkMethod: a.NetworkMethod, SyscallBackend: a.SyscallBackend})
}

// inject verifies the order against its Fault, then attaches every pending
// target of f, once, with bounded parallelism. A target that fails is left
// with nothing attached (the injectors unwind on error) and reported Failed;
// the others go on. A refused order attaches nothing and is reported; an
// error reading the Fault is returned, to retry.
func (a *Agent) inject(ctx context.Context, fi *chaosv1.FaultInjection, f *fault) error {
	f.mu.Lock()
	pending := !f.injected && f.ended == endNone
	f.mu.Unlock()
	if !pending {
		return nil
	}
	// Read the Fault without f's lock: the deadline timer must never wait
	// on the API server.
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	verr := a.verifyOrder(vctx, fi)
	cancel()

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.injected || f.ended != endNone {
		return nil // ended meanwhile
	}
	l := log.FromContext(ctx)
	if err := verr; err != nil {
		r := asRefusal(err)
		if r == nil {
			return fmt.Errorf("verify fault injection against its fault: %w", err)
		}
		f.injected, f.refused = true, r
		for _, t := range f.targets {
			t.state, t.message = chaosv1.TargetFailed, truncate("refused: "+r.message, maxMessage)
		}
		a.Recorder.Eventf(fi, nil, corev1.EventTypeWarning, r.reason, "Verify", "Refused fault injection: %s", r.message)
		l.Info("Refused fault injection", "reason", r.reason, "message", r.message)
		return nil
	}
	f.injected, f.verified = true, true
	act, err := a.convert(fi)
	if err == nil {
		var snap *podresolve.Snapshot
		if snap, err = a.Resolver.Snapshot(ctx); err == nil {
			f.act = act
			a.injectTargets(ctx, snap, f)
			l.Info("Injected fault", "targets", len(f.targets), "injected", count(f.targets, chaosv1.TargetInjected))
			return nil
		}
	}
	for _, t := range f.targets {
		t.state, t.message = chaosv1.TargetFailed, truncate(err.Error(), maxMessage)
	}
	l.Error(err, "Could not inject fault")
	return nil
}

func (a *Agent) injectTargets(ctx context.Context, snap *podresolve.Snapshot, f *fault) {
	targets := f.targets
	work := make(chan *target)
	var wg sync.WaitGroup
	for range min(a.AttachWorkers, len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				a.injectTarget(ctx, snap, f, t)
			}
		}()
	}
	for _, t := range targets {
		if t.state == chaosv1.TargetPending {
			work <- t
		}
	}
	close(work)
	wg.Wait()
}

// injectTarget resolves one pod and attaches the action to it.
func (a *Agent) injectTarget(ctx context.Context, snap *podresolve.Snapshot, f *fault, t *target) {
	start := time.Now()
	defer func() { attachDuration.Observe(time.Since(start).Seconds()) }()
	pod, err := snap.Pod(t.spec.PodUID)
	if errors.Is(err, podresolve.ErrPodNotFound) {
		t.state, t.message = chaosv1.TargetGone, "no process of the pod runs on this node"
		return
	}
	var att Attached
	var where string
	if err == nil {
		a.learnContainers(ctx, t)
		var ids []string
		if where, ids, err = a.placement(ctx, t, pod, f.act); err == nil {
			att, t.netns, t.nsKeys, err = a.attach(ctx, pod, f.act, ids)
		}
	}
	if err != nil {
		t.state, t.message = chaosv1.TargetFailed, truncate(err.Error(), maxMessage)
		log.FromContext(ctx).Info("Could not inject target", "pod", t.spec.Namespace+"/"+t.spec.Name, "error", err.Error())
		return
	}
	t.att, t.state, t.message, t.injectedAt = att, chaosv1.TargetInjected, "", time.Now()
	t.methods = limitMethods(att.Methods())
	t.placement, t.podDir = where, pod.CgroupV2Dir
	if t.podDir != "" {
		if err := a.pods.watch(t.podDir, f.key); err != nil {
			log.FromContext(ctx).Info("Could not watch the pod's cgroup; restarts are noticed at the status interval only", "error", err.Error())
		}
	}
}

// attach attaches act to pod. A network fault's namespace is returned held
// open with its attachment, and the namespaces the attachment is keyed by.
func (a *Agent) attach(ctx context.Context, pod *podresolve.Pod, act attach.Action, containerIDs []string) (Attached, *heldNetNS, []nsKey, error) {
	if act.Network != nil {
		a.sweepMu.RLock()
		defer a.sweepMu.RUnlock()
		if pod.HostNetworkErr != nil {
			return nil, nil, nil, fmt.Errorf("refusing a network fault that could hit the whole node: %w", pod.HostNetworkErr)
		}
		if pod.HostNetwork {
			return nil, nil, nil, errors.New("the pod uses the node's network namespace (hostNetwork): refusing a network fault that would hit the whole node")
		}
		ns, err := openNetNS(pod)
		if err != nil {
			return nil, nil, nil, err
		}
		a.sweepLegacy(ctx, pod.NetNS, ns.path())
		att, err := a.AttachNetwork(ctx, ns.path(), *act.Network)
		if err != nil {
			ns.close()
			return nil, nil, nil, err
		}
		return att, ns, []nsKey{{"net", ns.inode}}, nil
	}
	scope, err := syscallScope(pod, containerIDs)
	if err != nil {
		return nil, nil, nil, err
	}
	att, err := a.AttachSyscall(ctx, scope, *act.Syscall)
	return att, nil, scopeKeys(scope), err
}

// syscallScope limits a syscall fault to the pod's (or the listed
// containers') cgroup v2 directories, falling back to the pod's network
// namespace, or the containers' mount namespaces, where there is no cgroup
// v2 directory.
func syscallScope(pod *podresolve.Pod, containerIDs []string) (sysfault.Scope, error) {
	var s sysfault.Scope
	if len(containerIDs) == 0 {
		switch {
		case pod.CgroupV2Dir != "":
			// Not the pod directory itself when CRI-O's conmon is below it.
			dirs, err := pod.SyscallCgroupDirs()
			if err != nil {
				return s, err
			}
			s.CgroupPaths = dirs
		case !pod.HostNetwork:
			s.NetNSInodes = []uint64{pod.NetNS}
		case pod.HostNetworkErr != nil:
			return s, fmt.Errorf("the pod has no cgroup v2 directory and its network namespace cannot be scoped: %w", pod.HostNetworkErr)
		default:
			return s, errors.New("the pod has no cgroup v2 directory and uses the node's network namespace: no scope would be limited to it")
		}
		return s, nil
	}
	for _, id := range containerIDs {
		procs := pod.Container(id)
		if len(procs) == 0 {
			return s, fmt.Errorf("container %s has no process on this node", podresolve.NormalizeContainerID(id))
		}
		if procs[0].CgroupV2Dir != "" {
			s.CgroupPaths = append(s.CgroupPaths, procs[0].CgroupV2Dir)
			continue
		}
		s.MntNSInodes = append(s.MntNSInodes, procs[0].MntNS)
	}
	return s, nil
}

// sweepLegacy removes tc filters that a dead agent left in the network
// namespace inode (entered through path), once per namespace and process,
// before the first attach there.
func (a *Agent) sweepLegacy(ctx context.Context, inode uint64, path string) {
	a.mu.Lock()
	done := a.cleaned[inode]
	a.cleaned[inode] = true
	a.mu.Unlock()
	if done {
		return
	}
	if err := a.CleanupLegacy(ctx, path); err != nil {
		log.FromContext(ctx).Info("Could not clean up legacy tc filters", "netns", inode, "error", err.Error())
	}
}

// sweepTargets removes legacy tc leftovers from the namespaces of fi's
// target pods, for a network fault this process has not attached yet.
func (a *Agent) sweepTargets(ctx context.Context, fi *chaosv1.FaultInjection) {
	a.sweepMu.RLock()
	defer a.sweepMu.RUnlock()
	snap, err := a.Resolver.Snapshot(ctx)
	if err != nil {
		log.FromContext(ctx).Info("Could not scan processes for legacy tc cleanup", "error", err.Error())
		return
	}
	for _, t := range fi.Spec.Targets {
		pod, err := snap.Pod(t.PodUID)
		if err != nil || pod.HostNetwork {
			continue
		}
		ns, err := openNetNS(pod)
		if err != nil {
			log.FromContext(ctx).Info("Could not open network namespace for legacy tc cleanup", "pod", t.Namespace+"/"+t.Name, "error", err.Error())
			continue
		}
		a.sweepLegacy(ctx, pod.NetNS, ns.path())
		ns.close()
	}
}

// refresh reads counters and follows the target pods: a pod that left the
// node is released, one whose container or sandbox restarted is attached
// again. It returns true while a target waits for a restart to finish.
func (a *Agent) refresh(ctx context.Context, f *fault) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended != endNone || !f.followed() {
		return false
	}
	snap, err := a.Resolver.Snapshot(ctx)
	if err != nil {
		log.FromContext(ctx).Info("Could not scan processes", "error", err.Error())
	}
	waiting := false
	for _, t := range f.targets {
		if t.att == nil && !t.restarting() {
			continue
		}
		if snap != nil && a.followTarget(ctx, f, t, snap) {
			waiting = true
		}
		t.readCounters(ctx)
	}
	return waiting
}

// closeGone releases the attachment of a pod that left the node.
func (a *Agent) closeGone(ctx context.Context, t *target) {
	t.readCounters(ctx)
	t.state, t.message = chaosv1.TargetGone, "the pod left the node; its attachment was released"
	if err := a.closeTarget(ctx, t); err != nil {
		// Kept: refresh and teardown retry, and the finalizer waits.
		t.message = truncate("the pod left the node; release failed, retrying: "+err.Error(), maxMessage)
		log.FromContext(ctx).Info("Could not release gone target", "pod", t.spec.Namespace+"/"+t.spec.Name, "error", err.Error())
		return
	}
	log.FromContext(ctx).Info("Target pod gone", "pod", t.spec.Namespace+"/"+t.spec.Name)
}

func count(ts []*target, s chaosv1.TargetState) int {
	n := 0
	for _, t := range ts {
		if t.state == s {
			n++
		}
	}
	return n
}

func limitMethods(ms []string) []string {
	if len(ms) > maxMethods {
		ms = ms[:maxMethods]
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = truncate(m, maxMethod)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
