package network

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// tcxHook is a tcx bpf_link, unpinned: it dies with the process.
type tcxHook struct {
	l    link.Link
	desc string
}

func (h *tcxHook) detach() error  { return h.l.Close() }
func (h *tcxHook) String() string { return h.desc }

// attachTCX attaches prog to ifindex with a tcx link. Ingress programs go
// first and egress programs last, so that faults sit closest to the wire,
// as a faulty network would.
func attachTCX(ifname string, ifindex int, dir Direction, prog *ebpf.Program) (hook, error) {
	opts := link.TCXOptions{Interface: ifindex, Program: prog}
	switch dir {
	case Ingress:
		opts.Attach, opts.Anchor = ebpf.AttachTCXIngress, link.Head()
	case Egress:
		opts.Attach, opts.Anchor = ebpf.AttachTCXEgress, link.Tail()
	default:
		return nil, fmt.Errorf("attach tcx on %s: bad direction %v", ifname, dir)
	}
	l, err := link.AttachTCX(opts)
	if err != nil {
		return nil, fmt.Errorf("attach tcx %s on %s: %w", dir, ifname, err)
	}
	return &tcxHook{l: l, desc: fmt.Sprintf("%s %s %s", ifname, dir, methodTCX)}, nil
}
