package network

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// targetLinks returns the interface named name, or every non-loopback
// Ethernet interface of the namespace nl is bound to. The programs parse
// Ethernet frames, so tunnels and other L3 devices are skipped.
func targetLinks(nl *netlink.Handle, name string) ([]netlink.Link, error) {
	if name != "" {
		l, err := nl.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("find interface %s: %w", name, err)
		}
		if l.Attrs().EncapType != "ether" {
			return nil, fmt.Errorf("interface %s is %s, not Ethernet", name, l.Attrs().EncapType)
		}
		return []netlink.Link{l}, nil
	}
	all, err := nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	var out []netlink.Link
	for _, l := range all {
		if l.Attrs().EncapType == "ether" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Ethernet interface besides loopback")
	}
	return out, nil
}
