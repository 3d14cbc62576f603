package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/attach"
	"github.com/temblor-dev/temblor/injector/podresolve"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// ContainerNamer tells which pod and container (by name, as in the pod's
// spec) a runtime container ID belongs to. The agent asks it when a
// container of a container-scoped syscall fault restarts: the new container
// has a new ID, and only its name says it is the one the Fault named.
type ContainerNamer interface {
	ContainerName(ctx context.Context, containerID string) (podUID, name string, err error)
}

// trackedContainer is one container a container-scoped target names: the
// name stays across restarts, the ID changes.
type trackedContainer struct {
	name string // "" when it could not be learned
	id   string // normalized
}

// restartPoll is how often a target whose pod is restarting is looked at
// again (besides the pod cgroup watch's events).
const restartPoll = 100 * time.Millisecond

// fastPollFor is how long a restarting target is looked at every
// restartPoll; after that the pod cgroup watch's events and the status
// interval wake it (a pod may stay without processes for long).
const fastPollFor = 5 * time.Second

// pollFast reports whether t, waiting for its pod's restart, is still in its
// fast-poll window, starting the window on the first call.
func (t *target) pollFast() bool {
	if t.waitStart.IsZero() {
		t.waitStart = time.Now()
	}
	return time.Since(t.waitStart) < fastPollFor
}

// fastRefaultTries is how many failed attaches after a restart are retried
// every restartPoll; later ones wait for the status interval.
const fastRefaultTries = 10

// errWaitRestart is a target whose pod or container is restarting: nothing
// to attach to until its new processes run. The agent retries quickly.
var errWaitRestart = errors.New("restarting")

// waitRestart wraps errWaitRestart with what is awaited.
func waitRestart(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errWaitRestart, fmt.Sprintf(format, args...))
}

// learnContainers records the names of a container-scoped target's
// containers, so that a restart can be followed. Without a namer, or when
// it fails, a restart of that container is reported instead of followed.
func (a *Agent) learnContainers(ctx context.Context, t *target) {
	t.containers = nil
	for _, id := range t.spec.ContainerIDs {
		c := trackedContainer{id: podresolve.NormalizeContainerID(id)}
		if a.ContainerNamer != nil {
			uid, name, err := a.ContainerNamer.ContainerName(ctx, c.id)
			switch {
			case err != nil:
				log.FromContext(ctx).Info("Could not learn a container's name; its restarts will not be followed", "container", c.id, "error", err.Error())
			case !strings.EqualFold(uid, t.spec.PodUID):
				log.FromContext(ctx).Info("Container belongs to another pod per the runtime; its restarts will not be followed", "container", c.id, "runtimePod", uid, "targetPod", t.spec.PodUID)
			default:
				c.name = name
			}
		}
		t.containers = append(t.containers, c)
	}
}

// currentContainers returns the IDs a container-scoped target must be
// attached to now: each named container's current ID, following restarts.
func (a *Agent) currentContainers(ctx context.Context, t *target, pod *podresolve.Pod) ([]string, error) {
	if len(t.containers) == 0 {
		return nil, nil
	}
	running := map[string]bool{}
	for _, p := range pod.Processes {
		if p.ContainerID != "" {
			running[podresolve.NormalizeContainerID(p.ContainerID)] = true
		}
	}
	ids := make([]string, 0, len(t.containers))
	for i := range t.containers {
		c := &t.containers[i]
		if running[c.id] {
			ids = append(ids, c.id)
			continue
		}
		if c.name == "" {
			return nil, fmt.Errorf("container %s stopped or restarted, and without its name (no container runtime answer) the agent cannot tell which new container replaces it: the fault is not applied to it", shortID(c.id))
		}
		next := ""
		for id := range running {
			if slices.ContainsFunc(t.containers, func(o trackedContainer) bool { return o.id == id }) {
				continue
			}
			uid, name, err := a.ContainerNamer.ContainerName(ctx, id)
			if err == nil && strings.EqualFold(uid, t.spec.PodUID) && name == c.name {
				next = id
				break
			}
		}
		if next == "" {
			return nil, waitRestart("container %q (%s) is not running; waiting for its restart", c.name, shortID(c.id))
		}
		log.FromContext(ctx).Info("Following restarted container", "pod", t.spec.Namespace+"/"+t.spec.Name, "container", c.name, "old", shortID(c.id), "new", shortID(next))
		c.id = next
		ids = append(ids, next)
	}
	return ids, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// placement says where a target's fault must be attached given the pod's
// processes now: the network namespace, or the syscall scope. A target
// whose placement changed since its attach (a recreated sandbox, a
// restarted container) is attached again.
func (a *Agent) placement(ctx context.Context, t *target, pod *podresolve.Pod, act attach.Action) (string, []string, error) {
	if act.Network != nil {
		if pod.HostNetwork || pod.NetNS == 0 {
			return "", nil, waitRestart("the pod has no network namespace of its own right now")
		}
		return fmt.Sprintf("net:%d", pod.NetNS), nil, nil
	}
	ids, err := a.currentContainers(ctx, t, pod)
	if err != nil {
		return "", nil, err
	}
	scope, err := syscallScope(pod, ids)
	if err != nil {
		return "", nil, err
	}
	return scopeSignature(scope), ids, nil
}

// scopeSignature renders a syscall scope for comparison.
func scopeSignature(s sysfault.Scope) string {
	parts := []string{}
	for _, p := range s.CgroupPaths {
		parts = append(parts, "cg:"+p)
	}
	for _, id := range s.CgroupIDs {
		parts = append(parts, fmt.Sprintf("cgid:%d", id))
	}
	for _, ino := range s.NetNSInodes {
		parts = append(parts, fmt.Sprintf("net:%d", ino))
	}
	for _, ino := range s.MntNSInodes {
		parts = append(parts, fmt.Sprintf("mnt:%d", ino))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// followTarget brings one target in line with its pod's processes: it
// attaches again after a container or sandbox restart and releases what was
// keyed by the old container or namespace. It returns true while the target
// waits for a restart to finish, so that the caller looks again soon. Call
// with the fault's lock held.
func (a *Agent) followTarget(ctx context.Context, f *fault, t *target, snap *podresolve.Snapshot) bool {
	pod, err := snap.Pod(t.spec.PodUID)
	if errors.Is(err, podresolve.ErrPodNotFound) {
		if t.podDir != "" && dirExists(t.podDir) {
			// The pod's cgroup stays while the kubelet restarts its sandbox.
			a.suspend(ctx, t, chaosv1.TargetPending, "every process of the pod is gone but its cgroup stays (sandbox restarting): the fault is applied again when they are back")
			return t.pollFast()
		}
		if t.att != nil {
			a.closeGone(ctx, t)
		} else if t.state == chaosv1.TargetPending {
			t.state, t.message = chaosv1.TargetGone, "the pod left the node while restarting"
		}
		return false
	}
	if err != nil {
		return false
	}
	where, ids, perr := a.placement(ctx, t, pod, f.act)
	if perr == nil && t.att != nil && where == t.placement {
		t.waitStart = time.Time{}
		if ferr := attach.FollowErr(t.att); ferr != nil {
			t.message = truncate("new cgroups of the pod may not be faulted: "+ferr.Error(), maxMessage)
		}
		return false
	}
	if perr != nil {
		if errors.Is(perr, errWaitRestart) {
			a.suspend(ctx, t, chaosv1.TargetPending, perr.Error())
			return t.pollFast()
		}
		a.suspend(ctx, t, chaosv1.TargetFailed, perr.Error())
		return false
	}
	// Attach where the target is now, then release the old placement.
	att, netns, keys, err := a.attach(ctx, pod, f.act, ids)
	if err != nil {
		// The old placement is released all the same: its namespace or
		// cgroup is gone, and a stale key could match another pod.
		t.refaultTries++
		a.suspend(ctx, t, chaosv1.TargetPending, fmt.Sprintf("could not apply the fault again after a restart (try %d), retrying: %v", t.refaultTries, err))
		return t.refaultTries < fastRefaultTries
	}
	t.refaultTries, t.waitStart = 0, time.Time{}
	a.suspend(ctx, t, chaosv1.TargetPending, "applying the fault again after a restart")
	if t.att != nil {
		// Close failed: keep the new attachment out of the way and retry.
		att.Close()
		netns.close()
		return true
	}
	t.att, t.netns, t.nsKeys, t.placement = att, netns, keys, where
	t.podDir = pod.CgroupV2Dir
	t.reinjections++
	t.state, t.injectedAt = chaosv1.TargetInjected, time.Now()
	t.methods = limitMethods(att.Methods())
	t.message = fmt.Sprintf("applied again %d time(s) after a container or sandbox restart", t.reinjections)
	if t.podDir != "" {
		if err := a.pods.watch(t.podDir, f.key); err != nil {
			log.FromContext(ctx).Info("Could not watch the pod's cgroup; restarts are noticed at the status interval only", "error", err.Error())
		}
	}
	log.FromContext(ctx).Info("Applied fault again after a restart", "pod", t.spec.Namespace+"/"+t.spec.Name, "placement", where, "times", t.reinjections)
	return false
}

// suspend releases t's attachment, if any, and sets its state and message.
// A failed release keeps the attachment to retry, and says so.
func (a *Agent) suspend(ctx context.Context, t *target, state chaosv1.TargetState, msg string) {
	if t.att != nil {
		t.readCounters(ctx)
		t.base = t.counters
		if err := a.closeTarget(ctx, t); err != nil {
			t.state, t.message = state, truncate(msg+"; releasing the old attachment failed, retrying: "+err.Error(), maxMessage)
			return
		}
	}
	if msg != "" {
		t.state, t.message = state, truncate(msg, maxMessage)
	}
}

// readCounters reads t's attachment into t.counters (on top of what earlier
// attachments of the target counted) and the metrics.
func (t *target) readCounters(ctx context.Context) {
	if t.att == nil {
		return
	}
	c, err := t.att.Counters()
	if err != nil {
		log.FromContext(ctx).Info("Could not read counters", "pod", t.spec.Name, "error", err.Error())
		return
	}
	c.Add(t.base)
	countDelta(t.counters, c)
	t.counters = c
}

func dirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}
