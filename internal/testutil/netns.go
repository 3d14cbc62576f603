package testutil

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

// VethPair is two fresh network namespaces joined by a veth pair, each end
// called eth0 and addressed from 10.199.0.0/24 and fd00:199::/64. Traffic
// between them never leaves the machine.
type VethPair struct {
	// NameA and NameB are the namespace names under /run/netns.
	NameA, NameB string
	// A and B are the namespace paths.
	A, B string
	// Ifname is the name of the veth end in each namespace.
	Ifname string
	// A4, B4, A6 and B6 are the addresses of each end.
	A4, B4, A6, B6 netip.Addr
}

// MAC addresses of the A and B ends of a VethPair.
const (
	MACA = "02:00:0a:c7:00:01"
	MACB = "02:00:0a:c7:00:02"
)

var netnsSeq atomic.Int32

// NewVethPair creates the namespaces with `ip` and deletes them (and so the
// veth pair) when the test ends.
func NewVethPair(tb testing.TB) *VethPair {
	tb.Helper()
	RequireRoot(tb)
	n := netnsSeq.Add(1)
	p := &VethPair{
		NameA:  fmt.Sprintf("tb-%d-%d-a", os.Getpid(), n),
		NameB:  fmt.Sprintf("tb-%d-%d-b", os.Getpid(), n),
		Ifname: "eth0",
		A4:     netip.MustParseAddr("10.199.0.1"),
		B4:     netip.MustParseAddr("10.199.0.2"),
		A6:     netip.MustParseAddr("fd00:199::1"),
		B6:     netip.MustParseAddr("fd00:199::2"),
	}
	p.A, p.B = "/run/netns/"+p.NameA, "/run/netns/"+p.NameB
	tb.Cleanup(func() {
		// Removing the bind mounts frees the namespaces and the veth pair.
		_ = netns.DeleteNamed(p.NameA)
		_ = netns.DeleteNamed(p.NameB)
	})
	Run(tb, "ip", "netns", "add", p.NameA)
	Run(tb, "ip", "netns", "add", p.NameB)
	Run(tb, "ip", "-n", p.NameA, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", p.NameB)
	// Fixed MACs and permanent neighbours: a fault that drops ICMPv6 must
	// not also break neighbour discovery and so the test's other traffic.
	for _, side := range []struct {
		ns, mac, peerMAC string
		v4, v6, p4, p6   netip.Addr
	}{{p.NameA, MACA, MACB, p.A4, p.A6, p.B4, p.B6}, {p.NameB, MACB, MACA, p.B4, p.B6, p.A4, p.A6}} {
		Run(tb, "ip", "-n", side.ns, "link", "set", "eth0", "address", side.mac)
		Run(tb, "ip", "-n", side.ns, "addr", "add", side.v4.String()+"/24", "dev", "eth0")
		Run(tb, "ip", "-n", side.ns, "addr", "add", side.v6.String()+"/64", "dev", "eth0", "nodad")
		Run(tb, "ip", "-n", side.ns, "link", "set", "eth0", "up")
		Run(tb, "ip", "-n", side.ns, "link", "set", "lo", "up")
		Run(tb, "ip", "-n", side.ns, "neigh", "replace", side.p4.String(), "lladdr", side.peerMAC, "dev", "eth0", "nud", "permanent")
		Run(tb, "ip", "-n", side.ns, "neigh", "replace", side.p6.String(), "lladdr", side.peerMAC, "dev", "eth0", "nud", "permanent")
	}
	return p
}

// Run runs a command (a test observer or set-up tool, never product code)
// and fails the test if it fails.
func Run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
