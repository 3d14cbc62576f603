package network

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// tcxProbe caches whether the kernel has tcx (Linux 6.6+). The answer is a
// property of the kernel, not of a namespace, so it is probed once per
// process.
var tcxProbe struct {
	once sync.Once
	err  error
}

// haveTCX returns nil if tcx works, an error wrapping ebpf.ErrNotSupported if
// the kernel lacks it, and any other error if the probe was inconclusive.
// It must run inside the target namespace (it attaches to its loopback).
func haveTCX() error {
	tcxProbe.once.Do(func() { tcxProbe.err = probeTCX() })
	return tcxProbe.err
}

// probeTCX attaches a program that returns TCX_NEXT to lo and detaches it.
func probeTCX() error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:    "tb_probe_tcx",
		Type:    ebpf.SchedCLS,
		License: "Dual BSD/GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, -1),
			asm.Return(),
		},
	})
	if err != nil {
		return fmt.Errorf("probe tcx: load program: %w", err)
	}
	defer prog.Close()
	l, err := link.AttachTCX(link.TCXOptions{Interface: 1, Program: prog, Attach: ebpf.AttachTCXIngress})
	if err != nil {
		return fmt.Errorf("probe tcx: attach to lo: %w", err)
	}
	return l.Close()
}

// tcxUnsupported reports whether err says the kernel has no tcx.
func tcxUnsupported(err error) bool { return errors.Is(err, ebpf.ErrNotSupported) }
