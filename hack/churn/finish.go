package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// victimTC reads tc's state in every victim's network namespace, by pod
// name.
func (r *runner) victimTC(ctx context.Context) (map[string]tcState, error) {
	uids, err := r.victimUIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]tcState{}
	for name, uid := range uids {
		pid := podPID(uid)
		if pid == 0 {
			return nil, fmt.Errorf("no process of victim %s (uid %s) on this host: run on the node", name, uid)
		}
		s, err := readTC(pid)
		if err != nil {
			return nil, fmt.Errorf("tc state of victim %s: %w", name, err)
		}
		out[name] = s
	}
	return out, nil
}

// finish checks that nothing is left: Faults, FaultInjections, BPF, tc,
// the agent's fds and RSS, the victims' health, and after deleting the
// victims their cgroup directories and network namespaces.
func (r *runner) finish(ctx context.Context, rep *report, before map[string]tcState) error {
	var faults chaosv1.FaultList
	if err := r.c.List(ctx, &faults, client.InNamespace(r.ns)); err != nil {
		return fmt.Errorf("list Faults: %w", err)
	}
	for _, f := range faults.Items {
		rep.faultsLeft = append(rep.faultsLeft, fmt.Sprintf("%s phase %s finalizers %v", f.Name, f.Status.Phase, f.Finalizers))
	}
	var fis chaosv1.FaultInjectionList
	if err := r.c.List(ctx, &fis, client.InNamespace(r.ns)); err != nil {
		return fmt.Errorf("list FaultInjections: %w", err)
	}
	for _, fi := range fis.Items {
		rep.fisLeft = append(rep.fisLeft, fmt.Sprintf("%s finalizers %v", fi.Name, fi.Finalizers))
	}

	// BPF: the kernel frees programs after an RCU grace period; allow 10 s.
	poll(ctx, 10*time.Second, 50*time.Millisecond, func() (bool, error) {
		var err error
		rep.bpfLeft, err = temblorBPF()
		return err == nil && len(rep.bpfLeft) == 0, nil
	})

	after, err := r.victimTC(ctx)
	if err != nil {
		return err
	}
	for name, b := range before {
		a := after[name]
		rep.tcFilters += len(a.filters)
		for _, f := range a.filters {
			rep.tcLeft = append(rep.tcLeft, name+": filter "+f)
		}
		for _, q := range a.qdiscs {
			if !slices.Contains(b.qdiscs, q) {
				rep.tcLeft = append(rep.tcLeft, name+": new qdisc "+q)
			}
		}
		for _, q := range b.qdiscs {
			if !slices.Contains(a.qdiscs, q) {
				rep.tcLeft = append(rep.tcLeft, name+": qdisc gone "+q)
			}
		}
	}

	rep.end, err = r.settledAgent(ctx)
	if err != nil {
		return fmt.Errorf("final agent: %w", err)
	}
	rep.unhealthy = r.unhealthyVictims(ctx)

	uids, err := r.victimUIDs(ctx)
	if err != nil {
		return err
	}
	inos := map[uint64]string{}
	for name, uid := range uids {
		if pid := podPID(uid); pid != 0 {
			if ino, err := netnsInode(pid); err == nil {
				inos[ino] = name
			}
		}
	}
	rep.victims = len(uids)
	rep.netnsSeen = len(inos)
	if r.cfg.keepNamespace {
		return nil
	}
	if err := r.deleteNamespace(ctx); err != nil {
		return err
	}
	// The kubelet removes a pod's cgroups shortly after its containers
	// exited; the kernel frees a netns when its last reference goes.
	poll(ctx, 60*time.Second, time.Second, func() (bool, error) {
		rep.cgroupsLeft, rep.netnsLeft = nil, nil
		for name, uid := range uids {
			for _, d := range podCgroupDirs(uid) {
				rep.cgroupsLeft = append(rep.cgroupsLeft, name+": "+d)
			}
		}
		for ino, holders := range netnsHolders(inos) {
			for _, h := range holders {
				rep.netnsLeft = append(rep.netnsLeft, fmt.Sprintf("%s net:[%d]: %s", inos[ino], ino, h))
			}
		}
		return len(rep.cgroupsLeft) == 0 && len(rep.netnsLeft) == 0, nil
	})
	return nil
}

// clientStats is what the app client serves at /stats.
type clientStats struct {
	WindowSent  int64   `json:"windowSent"`
	SuccessRate float64 `json:"successRate"`
	LastError   string  `json:"lastError"`
}

// unhealthyVictims lists the victims whose requests do not succeed (95% in
// the client's window) within 30 s after every Fault ended, read through
// the API server's pod proxy.
func (r *runner) unhealthyVictims(ctx context.Context) []string {
	uids, err := r.victimUIDs(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	for name := range uids {
		var last string
		err := poll(ctx, 30*time.Second, time.Second, func() (bool, error) {
			raw, err := r.cs.CoreV1().Pods(r.ns).ProxyGet("http", name, "8081", "/stats", nil).DoRaw(ctx)
			if err != nil {
				last = err.Error()
				return false, nil
			}
			var s clientStats
			if err := json.Unmarshal(raw, &s); err != nil {
				last = err.Error()
				return false, nil
			}
			last = fmt.Sprintf("success %.2f of %d, last error %q", s.SuccessRate, s.WindowSent, s.LastError)
			return s.WindowSent >= 5 && s.SuccessRate >= 0.95, nil
		})
		if err != nil {
			bad = append(bad, name+": "+last)
		}
	}
	return bad
}
