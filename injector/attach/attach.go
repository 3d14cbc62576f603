package attach

import (
	"context"
	"errors"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// Attachment is one target's live fault, network or syscall.
type Attachment interface {
	// Methods describes how the fault is attached, one line per hook, the
	// text status, describe and exec print.
	Methods() []string
	// Counters reads the kernel counters since the attach.
	Counters() (chaosv1.Counters, error)
	// Close detaches everything; calling it again does nothing.
	Close() error
}

// Target is where an Action is attached: a network namespace for a network
// fault, the tasks of a scope for a syscall fault.
type Target struct {
	// NetNSPath is the target's network namespace, e.g. /proc/PID/ns/net.
	NetNSPath string
	// Scope selects the target's tasks.
	Scope sysfault.Scope
}

// Attach attaches act to t. On error nothing is left attached.
func Attach(ctx context.Context, act Action, t Target) (Attachment, error) {
	switch {
	case act.Network != nil:
		return Network(ctx, t.NetNSPath, *act.Network)
	case act.Syscall != nil:
		return Syscall(ctx, t.Scope, *act.Syscall)
	}
	return nil, errors.New("attach: empty action")
}

// Network attaches a network fault in the namespace at nsPath.
func Network(ctx context.Context, nsPath string, cfg network.Config) (Attachment, error) {
	a, err := network.Attach(ctx, nsPath, cfg)
	if err != nil {
		return nil, err
	}
	return networkAttachment{a}, nil
}

// Syscall attaches a syscall fault to the tasks in scope.
func Syscall(ctx context.Context, scope sysfault.Scope, cfg sysfault.Config) (Attachment, error) {
	a, err := sysfault.Attach(ctx, scope, cfg)
	if err != nil {
		return nil, err
	}
	return syscallAttachment{a}, nil
}

// FollowErr is a syscall attachment's last failure to follow new cgroups
// below its scope (a restarted container may then run unfaulted); nil for
// network attachments and when following works.
func FollowErr(a Attachment) error {
	if s, ok := a.(syscallAttachment); ok {
		return s.a.FollowErr()
	}
	return nil
}

type networkAttachment struct{ a *network.Attachment }

func (n networkAttachment) Methods() []string { return n.a.Methods() }
func (n networkAttachment) Close() error      { return n.a.Close() }
func (n networkAttachment) Counters() (chaosv1.Counters, error) {
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

type syscallAttachment struct{ a *sysfault.Attachment }

func (s syscallAttachment) Methods() []string { return s.a.Methods() }
func (s syscallAttachment) Close() error      { return s.a.Close() }
func (s syscallAttachment) Counters() (chaosv1.Counters, error) {
	c, err := s.a.Counters()
	if err != nil {
		return chaosv1.Counters{}, err
	}
	return chaosv1.Counters{SyscallsMatched: int64(c.Matched), SyscallsFailed: int64(c.Failed)}, nil
}
