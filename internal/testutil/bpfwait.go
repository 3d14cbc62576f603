package testutil

import (
	"testing"
	"time"
)

// ReleaseGrace is how long the kernel may take to free a program after its
// last reference went away: tc filters and programs are released after an
// RCU grace period, from a workqueue.
const ReleaseGrace = 5 * time.Second

// WaitNoTemblorBPF waits up to timeout for every Temblor program and link to
// be gone, and returns what is still loaded then (nil on success).
func WaitNoTemblorBPF(tb testing.TB, timeout time.Duration) []BPFObject {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ours, err := TemblorBPF()
		if err != nil {
			tb.Fatalf("list BPF objects: %v", err)
		}
		if len(ours) == 0 || time.Now().After(deadline) {
			return ours
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LeakCheckEventually is LeakCheck allowing ReleaseGrace for the kernel to
// free what the test closed. Call it first in a test.
func LeakCheckEventually(tb testing.TB) {
	tb.Helper()
	tb.Cleanup(func() {
		if left := WaitNoTemblorBPF(tb, ReleaseGrace); len(left) > 0 {
			tb.Fatalf("Temblor BPF objects left loaded: %v", left)
		}
		tb.Logf("no Temblor BPF program or link loaded")
	})
}
