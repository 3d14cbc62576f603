package attach

import (
	"errors"
	"fmt"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/convert"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// Options are the node's choices that the API action leaves open.
type Options struct {
	// NetworkMethod forces how tc-level network programs are attached;
	// MethodAuto picks tcx where the kernel has it.
	NetworkMethod network.Method
	// SyscallBackend forces a syscall backend; Auto lets the injector choose.
	SyscallBackend sysfault.Backend
}

// Action is a FaultAction converted for the injectors: exactly one of
// Network and Syscall is set.
type Action struct {
	// Network is the network fault, or nil.
	Network *network.Config
	// Syscall is the syscall fault, or nil.
	Syscall *sysfault.Config
}

// Kind names the action's injector: "network" or "syscall".
func (a Action) Kind() string {
	if a.Network != nil {
		return "network"
	}
	return "syscall"
}

// Convert converts and validates an API action once, for every target it
// will be attached to.
func Convert(fa chaosv1.FaultAction, opts Options) (Action, error) {
	switch {
	case fa.Network != nil && fa.Syscall != nil:
		return Action{}, errors.New("convert action: both network and syscall are set, exactly one must be")
	case fa.Network != nil:
		cfg, err := convert.Network(fa.Network)
		if err != nil {
			return Action{}, fmt.Errorf("convert network action: %w", err)
		}
		cfg.Method = opts.NetworkMethod
		return Action{Network: &cfg}, nil
	case fa.Syscall != nil:
		cfg, err := convert.Syscall(fa.Syscall, opts.SyscallBackend)
		if err != nil {
			return Action{}, fmt.Errorf("convert syscall action: %w", err)
		}
		return Action{Syscall: &cfg}, nil
	}
	return Action{}, errors.New("convert action: neither network nor syscall is set")
}
