package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// tally counts what the cycles did.
type tally struct {
	mu        sync.Mutex
	started   int
	ended     map[ending]int
	byKind    map[string]int
	notEnded  []string        // "churn-00042: ran out: phase Failed: ..."
	lateness  []time.Duration // ran-out Faults: Succeeded seen minus expiryTime
	goneAfter []time.Duration // deleted Faults: gone after the delete
	injectLat []time.Duration // ran-out Faults: first injection minus create
	// neverInjected are ran-out Faults that ended Failed because no agent
	// injected them before their deadline; evaluate excuses those whose
	// life overlapped an agent kill.
	neverInjected []lifetime
}

// lifetime is when a Fault was created and when it expired.
type lifetime struct {
	name            string
	created, expiry time.Time
	msg             string
}

func newTally() *tally {
	return &tally{ended: map[ending]int{}, byKind: map[string]int{}}
}

func (t *tally) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.ended {
		n += v
	}
	return fmt.Sprintf("%d ended, %d did not", n, len(t.notEnded))
}

func (t *tally) fail(name string, e ending, format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.notEnded = append(t.notEnded, fmt.Sprintf("%s (%s): %s", name, e, fmt.Sprintf(format, a...)))
}

func (t *tally) endedCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.ended {
		n += v
	}
	return n
}

// cycle creates cycle i's Fault and sees it end the way its plan says.
func (r *runner) cycle(ctx context.Context, i int) {
	p := r.draw(i)
	f := p.fault
	created := time.Now()
	if err := r.c.Create(ctx, f); err != nil {
		r.st.fail(f.Name, p.end, "create: %v", err)
		return
	}
	r.st.mu.Lock()
	r.st.started++
	r.st.byKind[p.kind]++
	r.st.mu.Unlock()
	key := client.ObjectKeyFromObject(f)
	switch p.end {
	case deleteAtOnce:
		time.Sleep(p.wait)
	case deleteRunning:
		if _, err := r.waitPhase(ctx, key, 60*time.Second, chaosv1.FaultPhase("Running")); err != nil {
			r.st.fail(f.Name, p.end, "never Running: %v", err)
			r.delete(ctx, key, p.end, false)
			return
		}
		time.Sleep(p.running)
	case runOut:
		got, err := r.waitPhase(ctx, key, f.Spec.Duration.Duration+r.cfg.endTimeout, "Succeeded", "Failed")
		seen := time.Now()
		if err != nil {
			r.st.fail(f.Name, p.end, "did not end: %v", err)
			r.delete(ctx, key, p.end, false)
			return
		}
		if got.Status.Phase == "Failed" && got.Status.ExpiryTime != nil && neverInjected(got) {
			r.st.mu.Lock()
			r.st.neverInjected = append(r.st.neverInjected, lifetime{f.Name, created, got.Status.ExpiryTime.Time, conditionsOf(got)})
			r.st.mu.Unlock()
			r.delete(ctx, key, p.end, true)
			return
		}
		if got.Status.Phase != "Succeeded" {
			r.st.fail(f.Name, p.end, "phase %s: %s", got.Status.Phase, conditionsOf(got))
			r.delete(ctx, key, p.end, false)
			return
		}
		if got.Status.ExpiryTime != nil {
			r.st.mu.Lock()
			r.st.lateness = append(r.st.lateness, seen.Sub(got.Status.ExpiryTime.Time))
			if got.Status.FirstInjectedTime != nil {
				r.st.injectLat = append(r.st.injectLat, got.Status.FirstInjectedTime.Sub(created))
			}
			r.st.mu.Unlock()
		}
	}
	r.delete(ctx, key, p.end, true)
}

// delete deletes the Fault and waits until it is gone (its finalizer
// released after the agent confirmed teardown); count says whether the
// cycle ended as planned.
func (r *runner) delete(ctx context.Context, key client.ObjectKey, e ending, count bool) {
	t0 := time.Now()
	f := &chaosv1.Fault{}
	f.Name, f.Namespace = key.Name, key.Namespace
	if err := r.c.Delete(ctx, f); err != nil && !apierrors.IsNotFound(err) {
		r.st.fail(key.Name, e, "delete: %v", err)
		return
	}
	err := poll(ctx, r.cfg.endTimeout, 100*time.Millisecond, func() (bool, error) {
		err := r.cache.Get(ctx, key, &chaosv1.Fault{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		var got chaosv1.Fault
		r.c.Get(ctx, key, &got)
		r.st.fail(key.Name, e, "not gone %s after delete: %v; phase %s, finalizers %v, %s",
			r.cfg.endTimeout, err, got.Status.Phase, got.Finalizers, conditionsOf(&got))
		return
	}
	if !count {
		return
	}
	r.st.mu.Lock()
	r.st.ended[e]++
	if e != runOut {
		r.st.goneAfter = append(r.st.goneAfter, time.Since(t0))
	}
	r.st.mu.Unlock()
}

// waitPhase waits (on the cache) until the Fault is in one of the phases.
func (r *runner) waitPhase(ctx context.Context, key client.ObjectKey, timeout time.Duration, phases ...chaosv1.FaultPhase) (*chaosv1.Fault, error) {
	var f chaosv1.Fault
	err := poll(ctx, timeout, 100*time.Millisecond, func() (bool, error) {
		if err := r.cache.Get(ctx, key, &f); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, p := range phases {
			if f.Status.Phase == p {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return &f, fmt.Errorf("phase %q after %s (want %v): %w; %s", f.Status.Phase, timeout, phases, err, conditionsOf(&f))
	}
	return &f, nil
}

// neverInjected reports whether the Fault failed because nothing was
// injected before its deadline.
func neverInjected(f *chaosv1.Fault) bool {
	for _, c := range f.Status.Conditions {
		if c.Reason == "NeverInjected" {
			return true
		}
	}
	return false
}

func conditionsOf(f *chaosv1.Fault) string {
	var b []string
	for _, c := range f.Status.Conditions {
		b = append(b, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(b, "; ")
}

// quantiles returns the 50th, 95th and 100th percentiles.
func quantiles(d []time.Duration) (p50, p95, pmax time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.5), at(0.95), s[len(s)-1]
}
