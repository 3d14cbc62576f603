package agent

import (
	"context"
	"fmt"
	"os"

	"github.com/temblor-dev/temblor/injector/podresolve"
)

// heldNetNS is an open handle on a target pod's network namespace. The
// agent attaches, sweeps and retries a failed teardown through it, so that
// the namespace is the one resolved even after the process through which
// it was opened exited and its PID was reused.
type heldNetNS struct {
	f     *os.File
	inode uint64
}

// openNetNS opens pod's network namespace, checked to be the one resolved.
func openNetNS(pod *podresolve.Pod) (*heldNetNS, error) {
	f, err := pod.OpenNetNS()
	if err != nil {
		return nil, fmt.Errorf("open network namespace of pod %s: %w", pod.UID, err)
	}
	return &heldNetNS{f: f, inode: pod.NetNS}, nil
}

// path names the namespace through the agent's own descriptor.
func (h *heldNetNS) path() string {
	return fmt.Sprintf("/proc/self/fd/%d", h.f.Fd())
}

func (h *heldNetNS) close() { h.f.Close() }

// sweepNetNS removes Temblor's legacy tc filters from the namespace that
// open returns (checked to be inode).
func (a *Agent) sweepNetNS(ctx context.Context, open func() (*os.File, error), inode uint64) error {
	f, err := open()
	if err != nil {
		return err
	}
	defer f.Close()
	h := &heldNetNS{f: f, inode: inode}
	if err := a.CleanupLegacy(ctx, h.path()); err != nil {
		return fmt.Errorf("sweep network namespace %d: %w", inode, err)
	}
	return nil
}
