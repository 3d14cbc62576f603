package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/temblor-dev/temblor/internal/testutil"
)

const (
	agentNamespace = "temblor-system"
	agentSelector  = "temblor-agent" // app.kubernetes.io/name
)

// agentPod returns the (single) agent pod.
func (r *runner) agentPod(ctx context.Context) (*corev1.Pod, error) {
	var pods corev1.PodList
	if err := r.c.List(ctx, &pods, client.InNamespace(agentNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": agentSelector}); err != nil {
		return nil, fmt.Errorf("list agent pods: %w", err)
	}
	var live []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	if len(live) != 1 {
		return nil, fmt.Errorf("want 1 agent pod, found %d", len(live))
	}
	return &live[0], nil
}

// agentPID is the host PID of the agent process of the agent pod, 0 if
// none runs.
func agentPID(podUID string) int { return testutil.PodProcessPID(podUID, "agent") }

// readyAgent waits until the agent pod is Ready and its process runs (and
// is not old), and returns its PID.
func (r *runner) readyAgent(ctx context.Context, timeout time.Duration, old int) (int, error) {
	var pid int
	err := poll(ctx, timeout, 200*time.Millisecond, func() (bool, error) {
		pod, err := r.agentPod(ctx)
		if err != nil {
			return false, nil
		}
		pid = agentPID(string(pod.UID))
		if pid == 0 || pid == old {
			return false, nil
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return 0, fmt.Errorf("agent Ready (old pid %d): %w", old, err)
	}
	return pid, nil
}

// killResult is what one SIGKILL of the agent did.
type killResult struct {
	pid, newPID int
	atCycle     int
	at          time.Time     // when the SIGKILL was sent
	held        int           // Temblor BPF objects loaded just before it
	released    time.Duration // until no Temblor BPF object was loaded; -1 if never seen empty
	back        time.Duration // until the new agent was Ready
	podReplaced bool          // the kubelet held the restart back (CrashLoopBackOff): the pod was deleted
	err         error
}

// killAgent SIGKILLs the agent, measures how soon the kernel released every
// Temblor BPF object, and waits for a new agent: the kubelet's container
// restart or, when CrashLoopBackOff holds it back longer than restartWait,
// a new pod of the DaemonSet after the old one is deleted.
func (r *runner) killAgent(ctx context.Context, atCycle int) killResult {
	k := killResult{atCycle: atCycle, released: -1}
	pod, err := r.agentPod(ctx)
	if err != nil {
		k.err = err
		return k
	}
	k.pid = agentPID(string(pod.UID))
	if k.pid == 0 {
		k.err = fmt.Errorf("no agent process of pod %s", pod.Name)
		return k
	}
	// Kill it while it holds faults (up to 10 s of waiting for one).
	poll(ctx, 10*time.Second, 20*time.Millisecond, func() (bool, error) {
		objs, err := testutil.TemblorBPF()
		k.held = len(objs)
		return err == nil && len(objs) > 0, nil
	})
	t0 := time.Now()
	k.at = t0
	if err := syscall.Kill(k.pid, syscall.SIGKILL); err != nil {
		k.err = fmt.Errorf("SIGKILL agent pid %d: %w", k.pid, err)
		return k
	}
	for time.Since(t0) < 3*time.Second {
		objs, err := testutil.TemblorBPF()
		if err == nil && len(objs) == 0 {
			k.released = time.Since(t0)
			break
		}
		if p := agentPID(string(pod.UID)); p != 0 && p != k.pid {
			break // the new agent may already hold programs again
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.newPID, err = r.readyAgent(ctx, r.cfg.restartWait, k.pid)
	if err != nil {
		k.podReplaced = true
		if err := r.c.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil {
			k.err = fmt.Errorf("delete agent pod %s in CrashLoopBackOff: %w", pod.Name, err)
			return k
		}
		k.newPID, err = r.readyAgent(ctx, 3*time.Minute, k.pid)
		if err != nil {
			k.err = err
			return k
		}
	}
	k.back = time.Since(t0)
	return k
}

// procStats is an agent process's descriptor count and resident memory.
type procStats struct {
	pid   int
	fds   int
	rssKB int
}

func readProcStats(pid int) (procStats, error) {
	s := procStats{pid: pid}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("read fds of %d: %w", pid, err)
	}
	s.fds = len(fds)
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read status of %d: %w", pid, err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			s.rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return s, nil
}

// settledAgent measures the agent once it is idle: no Fault alive, no
// Temblor BPF object loaded, and a few seconds for Go's GC and the
// watches to settle (the smaller of three readings a second apart).
func (r *runner) settledAgent(ctx context.Context) (procStats, error) {
	pid, err := r.readyAgent(ctx, 3*time.Minute, 0)
	if err != nil {
		return procStats{}, err
	}
	time.Sleep(5 * time.Second)
	var best procStats
	for i := range 3 {
		s, err := readProcStats(pid)
		if err != nil {
			return s, err
		}
		if i == 0 || s.fds < best.fds {
			best.fds = s.fds
		}
		if i == 0 || s.rssKB < best.rssKB {
			best.rssKB = s.rssKB
		}
		best.pid = pid
		time.Sleep(time.Second)
	}
	return best, nil
}
