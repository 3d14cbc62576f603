package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
)

// teardown detaches every target of f and records why. It is idempotent: the
// first reason sticks, and later calls only retry what is still attached. A
// target whose Close failed keeps its attachment, to retry, and
// f.teardownErr says why until every Close succeeded: the finalizer stays
// meanwhile.
func (a *Agent) teardown(ctx context.Context, f *fault, why endReason) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended == endNone {
		f.ended, f.endedAt = why, time.Now()
	}
	f.injected = true // nothing is attached after this
	a.pods.forget(f.key)
	if f.timer != nil && why != endExpired {
		f.timer.Stop()
	}
	start := time.Now()
	var errs []error
	closed := 0
	for _, t := range f.targets {
		if t.att == nil {
			continue
		}
		t.readCounters(ctx)
		closed++
		if err := a.closeTarget(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("target %s/%s: %w", t.spec.Namespace, t.spec.Name, err))
			t.message = truncate("teardown failed, retrying: "+err.Error(), maxMessage)
			continue
		}
		if t.state == chaosv1.TargetInjected {
			t.state = chaosv1.TargetRemoved
		}
	}
	f.teardownErr = errors.Join(errs...)
	if closed == 0 {
		return
	}
	took := time.Since(start)
	teardownDuration.Observe(took.Seconds())
	l := log.FromContext(ctx).WithValues("faultInjection", f.key, "reason", string(why), "targets", closed, "took", took.String())
	if f.teardownErr != nil {
		l.Error(f.teardownErr, "Teardown of fault injection failed")
		return
	}
	l.Info("Tore down fault injection")
}

// closeTarget closes t's attachment and forgets it once closed. After a
// failed Close, a retry also sweeps Temblor's legacy tc filters from the
// target's network namespace: the injectors' Close does not retry what it
// failed to remove, and a cls_bpf filter would outlive the agent.
func (a *Agent) closeTarget(ctx context.Context, t *target) error {
	err := t.att.Close()
	if err == nil && t.closeFailed && t.netns != nil {
		err = a.CleanupLegacy(ctx, t.netns.path())
	}
	if err != nil {
		t.closeFailed = true
		return err
	}
	t.att, t.closeFailed = nil, false
	t.releaseNetNS()
	return nil
}

// withdrawAll is the dead-man switch firing: every fault is taken down.
func (a *Agent) withdrawAll(ctx context.Context) int {
	n := 0
	for _, f := range a.snapshotFaults() {
		f.mu.Lock()
		was := f.ended
		f.mu.Unlock()
		if was != endNone {
			continue
		}
		a.teardown(ctx, f, endWithdrawn)
		n++
	}
	a.updateActive()
	return n
}

// shutdown tears everything down when the agent stops. The kernel would
// detach links with the process anyway; this also removes legacy tc filters.
func (a *Agent) shutdown(ctx context.Context) {
	for _, f := range a.snapshotFaults() {
		a.teardown(ctx, f, endShutdown)
		f.mu.Lock()
		if f.timer != nil {
			f.timer.Stop()
		}
		f.mu.Unlock()
	}
	a.updateActive()
}

// cleanupLegacy is network.CleanupLegacy.
func cleanupLegacy(ctx context.Context, nsPath string) error {
	return network.CleanupLegacy(ctx, nsPath)
}
