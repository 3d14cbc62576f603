package network

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Marks of Temblor's legacy tc filters. A cls_bpf filter has no owner and
// outlives the process that added it, so Temblor recognises its own by a
// priority in [LegacyPriorityMin, LegacyPriorityMax] and a filter name that
// starts with LegacyFilterPrefix. A name ending in legacyOwnerSuffix also
// says that Temblor created the interface's clsact qdisc, which is removed
// with the last filter only then.
const (
	// LegacyPriorityMin is the first tc priority Temblor uses.
	LegacyPriorityMin = 0xc000
	// LegacyPriorityMax is the last tc priority Temblor uses.
	LegacyPriorityMax = 0xc0ff
	// LegacyFilterPrefix starts the name of every Temblor cls_bpf filter.
	LegacyFilterPrefix = "tb_"

	legacyHandle      = 0x7b
	legacyOwnerSuffix = "+clsact"
)

// legacyHook is a direct-action cls_bpf filter on a clsact qdisc.
type legacyHook struct {
	nl        *netlink.Handle
	filter    *netlink.BpfFilter
	ownsQdisc bool
	desc      string
}

func (h *legacyHook) String() string { return h.desc }

func (h *legacyHook) detach() error {
	if err := h.nl.FilterDel(h.filter); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete tc filter %s: %w", h.filter.Name, err)
	}
	if !h.ownsQdisc {
		return nil
	}
	return removeClsactIfEmpty(h.nl, h.filter.LinkIndex)
}

func isOurFilter(f netlink.Filter) (*netlink.BpfFilter, bool) {
	bf, ok := f.(*netlink.BpfFilter)
	if !ok {
		return nil, false
	}
	p := bf.Attrs().Priority
	return bf, p >= LegacyPriorityMin && p <= LegacyPriorityMax && strings.HasPrefix(bf.Name, LegacyFilterPrefix)
}

func clsactParents() []uint32 { return []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} }

func parentFor(dir Direction) uint32 {
	if dir == Ingress {
		return netlink.HANDLE_MIN_INGRESS
	}
	return netlink.HANDLE_MIN_EGRESS
}

func clsactQdisc(ifindex int) *netlink.GenericQdisc {
	return &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT},
		QdiscType:  "clsact",
	}
}

// findClsact reports whether the link has a clsact qdisc, and fails if an
// ingress qdisc (which excludes clsact) is there instead.
func findClsact(nl *netlink.Handle, l netlink.Link) (bool, error) {
	qdiscs, err := nl.QdiscList(l)
	if err != nil {
		return false, fmt.Errorf("list qdiscs of %s: %w", l.Attrs().Name, err)
	}
	for _, q := range qdiscs {
		if q.Attrs().Parent != netlink.HANDLE_CLSACT {
			continue
		}
		if q.Type() == "clsact" {
			return true, nil
		}
		return false, fmt.Errorf("%s has qdisc %s where clsact would go: use tcx", l.Attrs().Name, q.Type())
	}
	return false, nil
}

// attachLegacyTC attaches prog as a direct-action cls_bpf filter, creating
// the clsact qdisc if the interface has none. It never replaces or deletes a
// qdisc it did not create.
func attachLegacyTC(nl *netlink.Handle, l netlink.Link, dir Direction, prog *ebpf.Program, progName string) (hook, error) {
	name := l.Attrs().Name
	have, err := findClsact(nl, l)
	if err != nil {
		return nil, fmt.Errorf("attach netlink-tc %s on %s: %w", dir, name, err)
	}
	owns := false
	if !have {
		if err := nl.QdiscAdd(clsactQdisc(l.Attrs().Index)); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("attach netlink-tc %s on %s: add clsact qdisc: %w", dir, name, err)
		} else if err == nil {
			owns = true
		}
	}

	prio, inherited, err := pickPriority(nl, l, parentFor(dir))
	if err != nil {
		if owns {
			_ = removeClsactIfEmpty(nl, l.Attrs().Index)
		}
		return nil, fmt.Errorf("attach netlink-tc %s on %s: %w", dir, name, err)
	}
	owns = owns || inherited

	f := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: l.Attrs().Index,
			Parent:    parentFor(dir),
			Handle:    legacyHandle,
			Protocol:  unix.ETH_P_ALL,
			Priority:  prio,
		},
		Fd:           prog.FD(),
		Name:         progName,
		DirectAction: true,
	}
	if owns {
		f.Name += legacyOwnerSuffix
	}
	if err := nl.FilterAdd(f); err != nil {
		if owns {
			_ = removeClsactIfEmpty(nl, l.Attrs().Index)
		}
		return nil, fmt.Errorf("attach netlink-tc %s on %s: add cls_bpf filter: %w", dir, name, err)
	}
	return &legacyHook{nl: nl, filter: f, ownsQdisc: owns, desc: fmt.Sprintf("%s %s %s", name, dir, methodNetlinkTC)}, nil
}

// pickPriority returns the first free Temblor priority on parent, and
// whether a Temblor filter already on the link owns its clsact qdisc (then
// the new filter shares that ownership, so the last one out removes it).
func pickPriority(nl *netlink.Handle, l netlink.Link, parent uint32) (uint16, bool, error) {
	used := map[uint16]bool{}
	inherited := false
	for _, p := range clsactParents() {
		filters, err := nl.FilterList(l, p)
		if err != nil {
			return 0, false, fmt.Errorf("list tc filters: %w", err)
		}
		for _, f := range filters {
			if bf, ours := isOurFilter(f); ours && strings.HasSuffix(bf.Name, legacyOwnerSuffix) {
				inherited = true
			}
			if p == parent {
				used[f.Attrs().Priority] = true
			}
		}
	}
	for prio := LegacyPriorityMin; prio <= LegacyPriorityMax; prio++ {
		if !used[uint16(prio)] {
			return uint16(prio), inherited, nil
		}
	}
	return 0, false, fmt.Errorf("no free tc priority in %#x-%#x", LegacyPriorityMin, LegacyPriorityMax)
}

// removeClsactIfEmpty deletes the clsact qdisc when no filter is left on it.
func removeClsactIfEmpty(nl *netlink.Handle, ifindex int) error {
	l, err := nl.LinkByIndex(ifindex)
	if err != nil {
		return fmt.Errorf("find link %d: %w", ifindex, err)
	}
	for _, p := range clsactParents() {
		filters, err := nl.FilterList(l, p)
		if err != nil {
			return fmt.Errorf("list tc filters of %s: %w", l.Attrs().Name, err)
		}
		if len(filters) > 0 {
			return nil // someone else's filters: the qdisc stays
		}
	}
	if err := nl.QdiscDel(clsactQdisc(ifindex)); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("delete clsact qdisc of %s: %w", l.Attrs().Name, err)
	}
	return nil
}
