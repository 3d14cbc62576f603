package ratelimit

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestBackoffIsCapped: after many failures in a row an object is looked at
// again within MaxRetryDelay, not after the workqueue's default 1000 s.
func TestBackoffIsCapped(t *testing.T) {
	rl := Controller()
	req := reconcile.Request{}
	var last int64
	for range 40 {
		d := rl.When(req)
		if d > MaxRetryDelay {
			t.Fatalf("retry after %s, want at most %s", d, MaxRetryDelay)
		}
		last = int64(d)
	}
	if last != int64(MaxRetryDelay) {
		t.Errorf("after 40 failures: %d, want the cap", last)
	}
	rl.Forget(req)
	if d := rl.When(req); d > MaxRetryDelay/100 {
		t.Errorf("after Forget: %s, want the base delay", d)
	}
}
