package main

import (
	"fmt"
	"slices"
	"time"
)

// stoppable are the components `stop` may take down: the control plane.
// `up` starts whatever of them is not running again.
var stoppable = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// stop stops the named control-plane components (SIGTERM, then SIGKILL
// after 15 s), in the order given, leaving everything else running, so that
// tests can take the control plane away under running workloads; `up`
// brings them back.
func stop(names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("stop what? one or more of %v", stoppable)
	}
	for _, n := range names {
		if !slices.Contains(stoppable, n) {
			return fmt.Errorf("cannot stop %q: only %v", n, stoppable)
		}
	}
	for _, n := range names {
		stopDaemon(n, 15*time.Second)
		if pid, ok := alive(n); ok {
			return fmt.Errorf("%s (pid %d) still runs", n, pid)
		}
	}
	return nil
}
