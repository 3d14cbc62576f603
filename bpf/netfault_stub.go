package bpf

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// Stubs: what is attached to a target's interfaces when targets share one
// loaded copy of the netfault programs (see netfault.c). A stub records the
// target's slot and tail-calls the shared program; it is a handful of
// instructions, so loading one per target costs the verifier next to
// nothing, unlike the main programs. They are built here, beside the C
// object whose maps they use, so that the package's tests and benchmarks
// run exactly what injector/network attaches.

// Indices of the main programs in the prog arrays the stubs tail-call
// through: tb_tc_progs holds both tc programs, tb_xdp_progs the XDP one.
const (
	NetfaultTailTCIngress  = 0 // tb_tc_ingress in tb_tc_progs
	NetfaultTailTCEgress   = 1 // tb_tc_egress in tb_tc_progs
	NetfaultTailXDPIngress = 0 // tb_xdp_ingress in tb_xdp_progs
)

// Names of the stub programs (object names start with "tb_" and fit in the
// kernel's 15 characters).
const (
	NetfaultStubTCIngress  = "tb_stub_ingress"
	NetfaultStubTCEgress   = "tb_stub_egress"
	NetfaultStubXDPIngress = "tb_stub_xdp"
)

// Layout constants the stubs depend on.
const (
	// skbCBSlotOffset is offsetof(struct __sk_buff, cb[TB_CB_SLOT]).
	skbCBSlotOffset = 48
	// tcActUnspec is TC_ACT_UNSPEC (tcx: TCX_NEXT), returned when the tail
	// call fails: the packet goes on untouched.
	tcActUnspec = -1
	// xdpActPass is XDP_PASS, likewise.
	xdpActPass = 2
	// stubLicense is the license of netfault.c, which the stubs share.
	stubLicense = "Dual BSD/GPL"
)

// NetfaultTCStub returns the spec of a tc (SchedCLS) stub for slot: it
// stores slot into skb->cb[TB_CB_SLOT] and tail-calls entry index of
// progs (tb_tc_progs), or returns TC_ACT_UNSPEC if the entry is empty.
// name is NetfaultStubTCIngress or NetfaultStubTCEgress.
func NetfaultTCStub(name string, slot uint32, progs *ebpf.Map, index uint32) (*ebpf.ProgramSpec, error) {
	progsPtr := asm.LoadMapPtr(asm.R2, 0)
	if err := progsPtr.AssociateMap(progs); err != nil {
		return nil, fmt.Errorf("tc stub: associate prog array: %w", err)
	}
	return &ebpf.ProgramSpec{
		Name:    name,
		Type:    ebpf.SchedCLS,
		License: stubLicense,
		Instructions: asm.Instructions{
			// The verifier takes no immediate stores into the context.
			asm.Mov.Imm32(asm.R2, int32(slot)),
			asm.StoreMem(asm.R1, skbCBSlotOffset, asm.R2, asm.Word),
			// bpf_tail_call(ctx in R1, progs, index): returns only on failure.
			progsPtr,
			asm.Mov.Imm32(asm.R3, int32(index)),
			asm.FnTailCall.Call(),
			asm.Mov.Imm(asm.R0, tcActUnspec),
			asm.Return(),
		},
	}, nil
}

// NetfaultXDPStub returns the spec of an XDP stub for slot: it stores slot
// into this CPU's entry 0 of scratch (tb_net_slot) and tail-calls entry
// NetfaultTailXDPIngress of progs (tb_xdp_progs), or returns XDP_PASS.
func NetfaultXDPStub(slot uint32, scratch, progs *ebpf.Map) (*ebpf.ProgramSpec, error) {
	scratchPtr := asm.LoadMapPtr(asm.R1, 0)
	if err := scratchPtr.AssociateMap(scratch); err != nil {
		return nil, fmt.Errorf("xdp stub: associate slot map: %w", err)
	}
	progsPtr := asm.LoadMapPtr(asm.R2, 0)
	if err := progsPtr.AssociateMap(progs); err != nil {
		return nil, fmt.Errorf("xdp stub: associate prog array: %w", err)
	}
	return &ebpf.ProgramSpec{
		Name:       NetfaultStubXDPIngress,
		Type:       ebpf.XDP,
		AttachType: ebpf.AttachXDP, // as the "xdp" section gives tb_xdp_ingress
		License:    stubLicense,
		Instructions: asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1), // ctx, kept across the helper call
			// R0 = bpf_map_lookup_elem(scratch, &(u32){0})
			asm.Mov.Imm(asm.R2, 0),
			asm.StoreMem(asm.RFP, -4, asm.R2, asm.Word),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			scratchPtr,
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "pass"),
			asm.Mov.Imm32(asm.R1, int32(slot)),
			asm.StoreMem(asm.R0, 0, asm.R1, asm.Word),
			// bpf_tail_call(ctx, progs, NetfaultTailXDPIngress)
			asm.Mov.Reg(asm.R1, asm.R6),
			progsPtr,
			asm.Mov.Imm32(asm.R3, NetfaultTailXDPIngress),
			asm.FnTailCall.Call(),
			asm.Mov.Imm(asm.R0, xdpActPass).WithSymbol("pass"),
			asm.Return(),
		},
	}, nil
}
