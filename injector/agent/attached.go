package agent

import (
	"context"

	"github.com/temblor-dev/temblor/injector/attach"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// Attached is one target's live attachment, network or syscall.
type Attached = attach.Attachment

// NetworkAttacher attaches a network fault in the namespace at nsPath.
type NetworkAttacher func(ctx context.Context, nsPath string, cfg network.Config) (Attached, error)

// SyscallAttacher attaches a syscall fault to the tasks in scope.
type SyscallAttacher func(ctx context.Context, scope sysfault.Scope, cfg sysfault.Config) (Attached, error)

// AttachNetwork is the real NetworkAttacher.
func AttachNetwork(ctx context.Context, nsPath string, cfg network.Config) (Attached, error) {
	return attach.Network(ctx, nsPath, cfg)
}

// AttachSyscall is the real SyscallAttacher.
func AttachSyscall(ctx context.Context, scope sysfault.Scope, cfg sysfault.Config) (Attached, error) {
	return attach.Syscall(ctx, scope, cfg)
}
