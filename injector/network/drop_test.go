package network

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// requireTCX skips a test that forces tcx on a kernel without it (< 6.6);
// in CI only where the kernel matrix declares tcx absent.
func requireTCX(t *testing.T) {
	t.Helper()
	if err := haveTCX(); tcxUnsupported(err) {
		testutil.SkipAbsentFeature(t, "tcx", "tcx needs Linux >= 6.6: "+err.Error())
	}
}

// tcxOrNetlink is the attach method auto mode picks on this kernel.
func tcxOrNetlink() string {
	if tcxUnsupported(haveTCX()) {
		return "netlink-tc"
	}
	return "tcx"
}

func attach(t *testing.T, ns string, cfg Config) *Attachment {
	t.Helper()
	if cfg.Method == MethodTCX {
		requireTCX(t)
	}
	a, err := Attach(context.Background(), ns, cfg)
	if err != nil {
		testutil.SkipIfNotSupported(t, err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	t.Logf("attached: %v", a.Describe())
	return a
}

// TestDropDirection drops every packet in one direction with each attach
// method and checks UDP, ICMP and TCP (IPv4 and IPv6) both ways.
func TestDropDirection(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p := testutil.NewVethPair(t)

	for _, tc := range []struct {
		name    string
		method  Method
		xdp     XDPMode
		dir     Direction
		methods []string
	}{
		{"tcx/egress", MethodTCX, XDPDisabled, Egress, []string{"eth0 egress tcx"}},
		{"tcx/ingress", MethodTCX, XDPDisabled, Ingress, []string{"eth0 ingress tcx"}},
		{"tcx/both", MethodTCX, XDPDisabled, Both, []string{"eth0 ingress tcx", "eth0 egress tcx"}},
		{"netlink-tc/egress", MethodNetlinkTC, XDPDisabled, Egress, []string{"eth0 egress netlink-tc"}},
		{"netlink-tc/ingress", MethodNetlinkTC, XDPDisabled, Ingress, []string{"eth0 ingress netlink-tc"}},
		{"netlink-tc/both", MethodNetlinkTC, XDPDisabled, Both, []string{"eth0 ingress netlink-tc", "eth0 egress netlink-tc"}},
		{"xdp-native/ingress", MethodAuto, XDPNative, Ingress, []string{"eth0 ingress xdp-native"}},
		{"xdp-generic/both", MethodTCX, XDPGeneric, Both, []string{"eth0 ingress xdp-generic", "eth0 egress tcx"}},
		{"auto/both", MethodAuto, XDPAuto, Both, []string{"eth0 ingress xdp-native", "eth0 egress " + tcxOrNetlink()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := attach(t, p.A, Config{
				Action: ActionDrop, Direction: tc.dir, ProbabilityBasisPoints: ProbabilityOne,
				Method: tc.method, XDP: tc.xdp,
			})
			if got := a.Describe(); !reflect.DeepEqual(got, tc.methods) {
				t.Errorf("methods %q, want %q", got, tc.methods)
			}
			for _, fromA := range []bool{true, false} {
				got, want := probePath(t, p, fromA), expectedPath(tc.dir, fromA)
				if got != want {
					t.Errorf("fromA=%v: got %+v, want %+v", fromA, got, want)
				}
			}
			c, err := a.Counters()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("counters %+v", c)
			if c.Dropped == 0 || c.Dropped != c.Matched {
				t.Errorf("counters %+v: want dropped == matched > 0", c)
			}
		})
	}
	// Everything detached: all traffic flows again.
	for _, fromA := range []bool{true, false} {
		if got, want := probePath(t, p, fromA), expectedPath(0, fromA); got != want {
			t.Errorf("after close, fromA=%v: got %+v, want %+v", fromA, got, want)
		}
	}
}

// TestDropFilters checks protocol, port and peer filters on real traffic.
func TestDropFilters(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p := testutil.NewVethPair(t)

	t.Run("udp-only", func(t *testing.T) {
		attach(t, p.A, Config{Action: ActionDrop, Direction: Egress, ProbabilityBasisPoints: ProbabilityOne, Protocol: ProtocolUDP})
		if len(udpExchange(t, p.A, p.B, p.B4, []byte("x"))) != 0 {
			t.Error("UDP delivered")
		}
		if !tcpConnects(t, p.A, p.B, p.B4) || !icmpEcho(t, p.A, p.B6) {
			t.Error("TCP or ICMPv6 blocked by a UDP-only fault")
		}
	})
	t.Run("peer-cidr", func(t *testing.T) {
		attach(t, p.A, Config{Action: ActionDrop, Direction: Both, ProbabilityBasisPoints: ProbabilityOne,
			PeerCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00:199::2/128")}})
		if icmpEcho(t, p.A, p.B6) {
			t.Error("ICMPv6 to the peer delivered")
		}
		if !icmpEcho(t, p.A, p.B4) {
			t.Error("ICMP to an IPv4 address outside the peer CIDRs blocked")
		}
	})
	t.Run("destination-port", func(t *testing.T) {
		rx := listenUDP(t, p.B, p.B4)
		port := uint16(rx.LocalAddr().(*net.UDPAddr).Port)
		attach(t, p.A, Config{Action: ActionDrop, Direction: Egress, ProbabilityBasisPoints: ProbabilityOne,
			Protocol: ProtocolUDP, DestinationPorts: []PortRange{{1, 2}, {port, port}}})
		tx := dialUDP(t, p.A, rx, p.B4)
		tx.Write([]byte("x"))
		rx.SetReadDeadline(time.Now().Add(waitTime))
		if _, err := rx.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("datagram to the faulted port delivered (err %v)", err)
		}
		if len(udpExchange(t, p.A, p.B, p.B4, []byte("y"))) == 0 {
			t.Error("datagram to another port dropped")
		}
	})
}

// TestDropProbability sends 100000 UDP datagrams through a 30% drop and
// checks the dropped fraction within one percentage point, both from the
// counters and from what the receiving application got.
func TestDropProbability(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p := testutil.NewVethPair(t)
	a := attach(t, p.A, Config{Action: ActionDrop, Direction: Egress, ProbabilityBasisPoints: 3000, Protocol: ProtocolUDP})

	const total = 100000
	before := testutil.NetStats(t, p.B)
	rx := listenUDP(t, p.B, p.B4)
	rx.SetReadBuffer(8 << 20)
	tx := dialUDP(t, p.A, rx, p.B4)
	received := make(chan int)
	go func() {
		buf := make([]byte, 64)
		n := 0
		for {
			rx.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := rx.Read(buf); err != nil {
				received <- n
				return
			}
			n++
		}
	}()
	msg := []byte("temblor-probability")
	for i := 0; i < total; i++ {
		if _, err := tx.Write(msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if i%2000 == 1999 {
			time.Sleep(2 * time.Millisecond) // let the receiver keep up
		}
	}
	got := <-received
	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	// Datagrams the receiver's stack got but could not queue (a slow guest
	// under emulation) are lost after Temblor, not by it: count them apart.
	after := testutil.NetStats(t, p.B)
	overflow := int(after["UdpRcvbufErrors"] - before["UdpRcvbufErrors"])
	t.Logf("sent %d, received %d, receive-buffer overflows %d, counters %+v", total, got, overflow, c)
	if c.Matched != total {
		t.Errorf("matched %d, want %d", c.Matched, total)
	}
	if got+overflow+int(c.Dropped) != total {
		t.Errorf("received %d + overflowed %d + dropped %d != sent %d", got, overflow, c.Dropped, total)
	}
	frac := float64(c.Dropped) / float64(c.Matched)
	appFrac := 1 - float64(got+overflow)/total
	t.Logf("dropped fraction: counters %.4f, seen by the receiving stack %.4f", frac, appFrac)
	if frac < 0.29 || frac > 0.31 {
		t.Errorf("counter drop fraction %.4f, want 0.30±0.01", frac)
	}
	if appFrac < 0.29 || appFrac > 0.31 {
		t.Errorf("loss seen by the receiving stack %.4f, want 0.30±0.01", appFrac)
	}
}
