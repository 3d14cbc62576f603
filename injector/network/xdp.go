package network

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// xdpHook is an XDP bpf_link, unpinned: it dies with the process.
type xdpHook struct {
	l    link.Link
	desc string
}

func (h *xdpHook) detach() error  { return h.l.Close() }
func (h *xdpHook) String() string { return h.desc }

// attachXDP attaches prog to ifindex in the requested mode; XDPAuto tries
// native first and then generic.
func attachXDP(ifname string, ifindex int, mode XDPMode, prog *ebpf.Program) (hook, error) {
	type try struct {
		flags link.XDPAttachFlags
		name  string
	}
	var tries []try
	switch mode {
	case XDPAuto:
		tries = []try{{link.XDPDriverMode, methodXDPNative}, {link.XDPGenericMode, methodXDPGeneric}}
	case XDPNative:
		tries = []try{{link.XDPDriverMode, methodXDPNative}}
	case XDPGeneric:
		tries = []try{{link.XDPGenericMode, methodXDPGeneric}}
	default:
		return nil, fmt.Errorf("attach xdp on %s: mode %d", ifname, mode)
	}
	var errs []error
	for _, t := range tries {
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: t.flags})
		if err == nil {
			return &xdpHook{l: l, desc: fmt.Sprintf("%s %s %s", ifname, Ingress, t.name)}, nil
		}
		errs = append(errs, fmt.Errorf("attach %s on %s: %w", t.name, ifname, err))
	}
	return nil, errors.Join(errs...)
}
