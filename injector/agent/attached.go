package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// Attached is one target's live attachment, network or syscall.
type Attached interface {
	// Methods lists how the fault is attached, for status.
	Methods() []string
	// Counters reads the kernel counters.
	Counters() (chaosv1.Counters, error)
	// Close detaches everything; it is safe to call twice.
	Close() error
}

// NetworkAttacher attaches a network fault in the namespace at nsPath.
type NetworkAttacher func(ctx context.Context, nsPath string, cfg network.Config) (Attached, error)

// SyscallAttacher attaches a syscall fault to the tasks in scope.
type SyscallAttacher func(ctx context.Context, scope sysfault.Scope, cfg sysfault.Config) (Attached, error)

// AttachNetwork is the real NetworkAttacher.
func AttachNetwork(ctx context.Context, nsPath string, cfg network.Config) (Attached, error) {
	a, err := network.Attach(ctx, nsPath, cfg)
	if err != nil {
		return nil, err
	}
	return networkAttached{a}, nil
}

// AttachSyscall is the real SyscallAttacher.
func AttachSyscall(ctx context.Context, scope sysfault.Scope, cfg sysfault.Config) (Attached, error) {
	a, err := sysfault.Attach(ctx, scope, cfg)
	if err != nil {
		return nil, err
	}
	return syscallAttached{a}, nil
}

type networkAttached struct{ a *network.Attachment }

func (n networkAttached) Methods() []string { return n.a.Methods() }
func (n networkAttached) Close() error      { return n.a.Close() }
func (n networkAttached) Counters() (chaosv1.Counters, error) {
	c, err := n.a.Counters()
	if err != nil {
		return chaosv1.Counters{}, err
	}
	return chaosv1.Counters{
		PacketsMatched:   int64(c.Matched),
		PacketsDropped:   int64(c.Dropped),
		PacketsCorrupted: int64(c.Corrupted),
	}, nil
}

type syscallAttached struct{ a *sysfault.Attachment }

func (s syscallAttached) Close() error { return s.a.Close() }
func (s syscallAttached) Methods() []string {
	b := s.a.Backends()
	out := make([]string, 0, len(b))
	for sc, how := range b {
		// "cgroup:connect4,connect6@/sys/fs/cgroup/…": the directory is the
		// target's own and too long for status.
		how, _, _ = strings.Cut(how, "@")
		out = append(out, fmt.Sprintf("%s %s", sc, how))
	}
	sort.Strings(out)
	return out
}
func (s syscallAttached) Counters() (chaosv1.Counters, error) {
	c, err := s.a.Counters()
	if err != nil {
		return chaosv1.Counters{}, err
	}
	return chaosv1.Counters{SyscallsMatched: int64(c.Matched), SyscallsFailed: int64(c.Failed)}, nil
}
