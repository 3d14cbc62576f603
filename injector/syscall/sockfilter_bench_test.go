package syscall

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// BenchmarkConnectSockFilter measures what a socket filter adds to a
// connect(2) of a targeted task whose address the filter does not match (the
// calls that a port-filtered fault lets through, e.g. DNS beside a database
// fault), on the cgroup backend: no program at all, the fault without a
// filter at 0% (program, target lookup, counter), and the fault at 100%
// with a port filter, a peer filter (LPM trie lookup) and both, none of
// which matches. The loop reconnects one UDP socket to a loopback address,
// the cheapest connect there is.
func BenchmarkConnectSockFilter(b *testing.B) {
	testutil.RequireRoot(b)
	requireBackend(b, Cgroup)
	ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	sa, err := netipAddrPort(ln.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	self, err := CgroupID(testutil.SelfCgroupV2(b))
	if err != nil {
		b.Fatal(err)
	}
	otherPort := uint16(sa.Port%60000 + 1)
	peers := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}

	for _, bc := range []struct {
		name   string
		attach bool
		bp     uint32
		ports  []PortRange
		peers  []netip.Prefix
	}{
		{name: "no-program"},
		{name: "targeted-no-filter-0pct", attach: true},
		{name: "targeted-port-miss", attach: true, bp: 10000, ports: []PortRange{{From: otherPort, To: otherPort}}},
		{name: "targeted-peer-miss", attach: true, bp: 10000, peers: peers},
		{name: "targeted-port-hit-peer-miss", attach: true, bp: 10000, ports: []PortRange{{From: uint16(sa.Port), To: uint16(sa.Port)}}, peers: peers},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.attach {
				a, err := Attach(context.Background(), Scope{CgroupIDs: []uint64{self}}, Config{
					Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: bc.bp,
					Ports: bc.ports, PeerCIDRs: bc.peers, Backend: Cgroup,
				})
				if err != nil {
					b.Fatalf("attach: %+v", err)
				}
				defer a.Close()
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer unix.Close(fd)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := unix.Connect(fd, sa); err != nil {
					b.Fatalf("connect: %v", err)
				}
			}
		})
	}
}
