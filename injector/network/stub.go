package network

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/temblor-dev/temblor/bpf"
)

// stubs are one target's stub programs (see bpf/netfault_stub.go): what
// its hooks attach instead of the shared main programs. Each is loaded on
// first use and serves every interface of the target in its direction.
type stubs struct {
	tcIngress, tcEgress, xdp *ebpf.Program
}

// tc returns the tc stub of slot for dir and its program name, which also
// names the legacy cls_bpf filter (so it carries LegacyFilterPrefix).
func (s *stubs) tc(l *sharedLoad, slot uint32, dir Direction) (*ebpf.Program, string, error) {
	p, name, index := &s.tcEgress, bpf.NetfaultStubTCEgress, uint32(bpf.NetfaultTailTCEgress)
	if dir == Ingress {
		p, name, index = &s.tcIngress, bpf.NetfaultStubTCIngress, bpf.NetfaultTailTCIngress
	}
	if *p != nil {
		return *p, name, nil
	}
	spec, err := bpf.NetfaultTCStub(name, slot, l.objs.TbTcProgs, index)
	if err != nil {
		return nil, "", fmt.Errorf("build tc %s stub for slot %d: %w", dir, slot, err)
	}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, "", fmt.Errorf("load tc %s stub for slot %d: %w", dir, slot, err)
	}
	*p = prog
	return prog, name, nil
}

// xdpIngress returns the XDP stub of slot.
func (s *stubs) xdpIngress(l *sharedLoad, slot uint32) (*ebpf.Program, error) {
	if s.xdp != nil {
		return s.xdp, nil
	}
	spec, err := bpf.NetfaultXDPStub(slot, l.objs.TbNetSlot, l.objs.TbXdpProgs)
	if err != nil {
		return nil, fmt.Errorf("build xdp stub for slot %d: %w", slot, err)
	}
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, fmt.Errorf("load xdp stub for slot %d: %w", slot, err)
	}
	s.xdp = prog
	return prog, nil
}

// close unloads the stubs; call it after their hooks are detached.
func (s *stubs) close() error {
	var errs []error
	for _, p := range []**ebpf.Program{&s.xdp, &s.tcEgress, &s.tcIngress} {
		if *p == nil {
			continue
		}
		if err := (*p).Close(); err != nil {
			errs = append(errs, fmt.Errorf("unload stub %s: %w", *p, err))
		}
		*p = nil
	}
	return errors.Join(errs...)
}
