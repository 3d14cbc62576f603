package local

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Addressing of the veth pairs local mode creates: slot N uses
// 10.213.N.0/30, the host end tbx<N> holding .1 and the namespace's eth0 .2.
const (
	hostIfPrefix = "tbx"
	nsIfName     = "eth0"
	maxSlots     = 256
)

var nsSeq atomic.Int32

// netEnv is a fresh network namespace joined to the host by a veth pair.
type netEnv struct {
	name     string // under /run/netns
	path     string
	hostIf   string
	hostAddr net.IP
	nsAddr   net.IP
}

// newNetEnv creates the namespace and the veth pair, configures both ends
// and returns the environment; on error nothing is left behind.
func newNetEnv() (_ *netEnv, err error) {
	e := &netEnv{name: fmt.Sprintf("temblor-exec-%d-%d", os.Getpid(), nsSeq.Add(1))}
	e.path = "/run/netns/" + e.name
	ns, err := createNamedNetns(e.name)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	defer func() {
		if err != nil {
			err = errors.Join(err, e.remove())
		}
	}()

	slot, err := e.addVeth(ns)
	if err != nil {
		return e, err
	}
	e.hostAddr = net.IPv4(10, 213, byte(slot), 1).To4()
	e.nsAddr = net.IPv4(10, 213, byte(slot), 2).To4()
	if err := e.configureHost(); err != nil {
		return e, err
	}
	if err := e.configureNS(ns); err != nil {
		return e, err
	}
	return e, nil
}

// createNamedNetns creates a namespace bound at /run/netns/name. The
// creation switches the calling thread, so it runs on a locked thread that
// is switched back before it is released.
func createNamedNetns(name string) (vnetns.NsHandle, error) {
	type result struct {
		ns  vnetns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open current netns: %w", err)}
			return
		}
		defer orig.Close()
		ns, err := vnetns.NewNamed(name)
		if rerr := vnetns.Set(orig); rerr != nil {
			// Leave the thread locked: the runtime discards it.
			ch <- result{ns: ns, err: errors.Join(err, fmt.Errorf("restore netns: %w", rerr))}
			return
		}
		runtime.UnlockOSThread()
		if err != nil {
			err = fmt.Errorf("create netns %s: %w", name, err)
		}
		ch <- result{ns: ns, err: err}
	}()
	r := <-ch
	if r.err != nil {
		if r.ns.IsOpen() {
			r.ns.Close()
			_ = vnetns.DeleteNamed(name)
		}
		return vnetns.None(), r.err
	}
	return r.ns, nil
}

// addVeth creates tbx<N> in the host namespace with eth0 in ns, taking the
// first free slot N.
func (e *netEnv) addVeth(ns vnetns.NsHandle) (int, error) {
	for slot := 0; slot < maxSlots; slot++ {
		name := fmt.Sprintf("%s%d", hostIfPrefix, slot)
		if _, err := netlink.LinkByName(name); err == nil {
			continue
		}
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: name},
			PeerName:      nsIfName,
			PeerNamespace: netlink.NsFd(int(ns)),
		}
		err := netlink.LinkAdd(veth)
		if errors.Is(err, unix.EEXIST) {
			continue // taken meanwhile by another process
		}
		if err != nil {
			return 0, fmt.Errorf("add veth %s: %w", name, err)
		}
		e.hostIf = name
		return slot, nil
	}
	return 0, fmt.Errorf("add veth: all %d %s<N> slots in use", maxSlots, hostIfPrefix)
}

// configureHost addresses the host end, disables forwarding from it (nothing
// the command sends may be routed off the machine) and brings it up.
func (e *netEnv) configureHost() error {
	link, err := netlink.LinkByName(e.hostIf)
	if err != nil {
		return fmt.Errorf("find %s: %w", e.hostIf, err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+e.hostIf+"/forwarding", []byte("0"), 0); err != nil {
		return fmt.Errorf("disable forwarding on %s: %w", e.hostIf, err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+e.hostIf+"/disable_ipv6", []byte("1"), 0); err != nil {
		return fmt.Errorf("disable IPv6 on %s: %w", e.hostIf, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: e.hostAddr, Mask: net.CIDRMask(30, 32)}}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("address %s: %w", e.hostIf, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up %s: %w", e.hostIf, err)
	}
	return nil
}

// configureNS brings lo and eth0 up in ns, addresses eth0 and routes
// everything through the host end.
func (e *netEnv) configureNS(ns vnetns.NsHandle) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", e.name, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in %s: %w", e.name, err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring up lo in %s: %w", e.name, err)
	}
	eth, err := h.LinkByName(nsIfName)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", nsIfName, e.name, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: e.nsAddr, Mask: net.CIDRMask(30, 32)}}
	if err := h.AddrAdd(eth, addr); err != nil {
		return fmt.Errorf("address %s in %s: %w", nsIfName, e.name, err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring up %s in %s: %w", nsIfName, e.name, err)
	}
	route := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: e.hostAddr}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("default route in %s: %w", e.name, err)
	}
	return nil
}

// remove deletes the veth pair and the namespace's name. Processes still in
// the namespace keep it alive, unreachable, until they exit.
func (e *netEnv) remove() error {
	if e == nil {
		return nil
	}
	var errs []error
	if e.hostIf != "" {
		link, err := netlink.LinkByName(e.hostIf)
		if err == nil {
			err = netlink.LinkDel(link)
		}
		var nf netlink.LinkNotFoundError
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete %s: %w", e.hostIf, err))
		}
		e.hostIf = ""
	}
	if e.name != "" {
		if err := vnetns.DeleteNamed(e.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete netns %s: %w", e.name, err))
		}
		e.name = ""
	}
	return errors.Join(errs...)
}
