package network

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/temblor-dev/temblor/injector/netns"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// Traffic helpers. Sockets are created inside the namespace (netns.Do) and
// then used from any goroutine: a socket stays in the namespace it was
// created in.

const waitTime = 150 * time.Millisecond

func inNS(t testing.TB, ns string, fn func() error) {
	t.Helper()
	if err := netns.Do(ns, fn); err != nil {
		t.Fatal(err)
	}
}

func listenUDP(t testing.TB, ns string, addr netip.Addr) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	inNS(t, ns, func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func dialUDP(t testing.TB, ns string, to *net.UDPConn, dst netip.Addr) *net.UDPConn {
	t.Helper()
	port := to.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	var c *net.UDPConn
	inNS(t, ns, func() (err error) {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, port)))
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// udpExchange sends msg from ns `from` to dst (an address in ns `to`) three
// times and returns the datagrams the receiving application got.
func udpExchange(t testing.TB, from, to string, dst netip.Addr, msg []byte) [][]byte {
	t.Helper()
	rx := listenUDP(t, to, dst)
	tx := dialUDP(t, from, rx, dst)
	for i := 0; i < 3; i++ {
		if _, err := tx.Write(msg); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// A dropped egress packet is not a send error; others are.
			t.Logf("send: %v", err)
		}
	}
	var got [][]byte
	buf := make([]byte, 65536)
	rx.SetReadDeadline(time.Now().Add(waitTime))
	for {
		n, err := rx.Read(buf)
		if err != nil {
			return got
		}
		got = append(got, append([]byte(nil), buf[:n]...))
		rx.SetReadDeadline(time.Now().Add(waitTime / 3))
	}
}

// tcpConnects dials dst (in ns `to`) from ns `from`.
func tcpConnects(t testing.TB, from, to string, dst netip.Addr) bool {
	t.Helper()
	var l net.Listener
	inNS(t, to, func() (err error) {
		l, err = net.Listen("tcp", netip.AddrPortFrom(dst, 0).String())
		return err
	})
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ok := false
	inNS(t, from, func() error {
		d := net.Dialer{Timeout: 2 * waitTime}
		c, err := d.Dial("tcp", l.Addr().String())
		if err == nil {
			ok = true
			c.Close()
		}
		return nil
	})
	return ok
}

// icmpEcho sends one echo request from ns `from` to dst and reports whether
// the reply came back.
func icmpEcho(t testing.TB, from string, dst netip.Addr) bool {
	t.Helper()
	network, typ := "ip4:icmp", icmp.Type(ipv4.ICMPTypeEcho)
	proto := 1
	if dst.Is6() {
		network, typ, proto = "ip6:ipv6-icmp", ipv6.ICMPTypeEchoRequest, 58
	}
	var c *icmp.PacketConn
	inNS(t, from, func() (err error) {
		c, err = icmp.ListenPacket(network, "")
		return err
	})
	defer c.Close()
	id := os.Getpid() & 0xffff
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("temblor")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		t.Logf("send echo: %v", err)
	}
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(waitTime))
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return false
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && (m.Type == ipv4.ICMPTypeEchoReply || m.Type == ipv6.ICMPTypeEchoReply) && e.ID == id {
			return true
		}
	}
}

// pathReport is what one probe of every protocol from one side saw.
type pathReport struct {
	UDP4, UDP6           bool // the application received the datagrams
	ICMPRequest4, ICMP4  bool // the echo request arrived; the reply came back
	ICMPRequest6, ICMP6  bool
	TCPSyn4, TCPConnect4 bool // a segment arrived at the listener's side; connect succeeded
}

// probePath sends UDP, ICMP and TCP from ns `from` to the other end.
func probePath(t testing.TB, p *testutil.VethPair, fromA bool) pathReport {
	t.Helper()
	from, to, dst4, dst6 := p.A, p.B, p.B4, p.B6
	if !fromA {
		from, to, dst4, dst6 = p.B, p.A, p.A4, p.A6
	}
	var r pathReport
	r.UDP4 = len(udpExchange(t, from, to, dst4, []byte("hello4"))) > 0
	r.UDP6 = len(udpExchange(t, from, to, dst6, []byte("hello6"))) > 0

	before := testutil.NetStats(t, to)
	r.ICMP4 = icmpEcho(t, from, dst4)
	r.ICMP6 = icmpEcho(t, from, dst6)
	r.TCPConnect4 = tcpConnects(t, from, to, dst4)
	after := testutil.NetStats(t, to)
	r.ICMPRequest4 = after["IcmpInEchos"] > before["IcmpInEchos"]
	r.ICMPRequest6 = after["Icmp6InEchos"] > before["Icmp6InEchos"]
	r.TCPSyn4 = after["TcpInSegs"] > before["TcpInSegs"]
	return r
}

// expectedPath is what a 100% drop attached on A in direction d lets through
// on the path from A (fromA) or to A.
func expectedPath(d Direction, fromA bool) pathReport {
	fwd, rev := d&Egress == 0, d&Ingress == 0 // forward/reverse open
	if !fromA {
		fwd, rev = d&Ingress == 0, d&Egress == 0
	}
	return pathReport{
		UDP4: fwd, UDP6: fwd,
		ICMPRequest4: fwd, ICMP4: fwd && rev,
		ICMPRequest6: fwd, ICMP6: fwd && rev,
		TCPSyn4: fwd, TCPConnect4: fwd && rev,
	}
}
