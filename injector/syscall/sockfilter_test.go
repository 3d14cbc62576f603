package syscall

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// sockCase is a socket-filter scenario's setup: the filters, the address a
// targeted helper calls and that must fail, and addresses the same targeted
// helper calls that the filters leave alone.
type sockCase struct {
	ports  []PortRange
	peers  []netip.Prefix
	hit    string
	misses []string
}

// listeners starts n TCP (or UDP) listeners on host and returns their
// ports; TCP ones accept and close until the test ends.
func listeners(t *testing.T, network, host string, n int) []int {
	t.Helper()
	var ports []int
	for i := 0; i < n; i++ {
		addr := net.JoinHostPort(host, "0")
		if network == "udp" {
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				t.Fatalf("listen udp %s: %v", addr, err)
			}
			t.Cleanup(func() { pc.Close() })
			ports = append(ports, pc.LocalAddr().(*net.UDPAddr).Port)
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen tcp %s: %v", addr, err)
		}
		acceptAndClose(t, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

func onePort(p int) []PortRange { return []PortRange{{From: uint16(p), To: uint16(p)}} }

// connect4Filter: a port and a peer filter together; another port and
// another peer on the same port both pass.
func connect4Filter(t *testing.T) sockCase {
	p := listeners(t, "tcp", "127.0.0.1", 2)
	// A listener on the filtered port of 127.0.0.2 shows the peer filter
	// alone.
	ln, err := net.Listen("tcp", hostPort("127.0.0.2", p[0]))
	if err != nil {
		t.Fatalf("listen on 127.0.0.2:%d: %v", p[0], err)
	}
	acceptAndClose(t, ln)
	return sockCase{
		ports: onePort(p[0]),
		peers: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		hit:   hostPort("127.0.0.1", p[0]),
		// Another port, another peer, and an AF_UNIX socket, which no
		// filter matches.
		misses: []string{hostPort("127.0.0.1", p[1]), hostPort("127.0.0.2", p[0]), unixListener(t)},
	}
}

// connect6Filter: IPv6 peer and port; an IPv4 peer on the same port does
// not match an IPv6 CIDR.
func connect6Filter(t *testing.T) sockCase {
	p := listeners(t, "tcp", "::1", 2)
	ln, err := net.Listen("tcp4", hostPort("127.0.0.1", p[0]))
	if err != nil {
		t.Fatalf("listen on 127.0.0.1:%d: %v", p[0], err)
	}
	acceptAndClose(t, ln)
	return sockCase{
		ports:  []PortRange{{From: uint16(p[0]), To: uint16(p[0])}, {From: 1, To: 1}},
		peers:  []netip.Prefix{netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.0.0.0/8")},
		hit:    hostPort("::1", p[0]),
		misses: []string{hostPort("::1", p[1]), hostPort("127.0.0.1", p[0])},
	}
}

// udpPortFilter: UDP datagrams to one port fail, to another pass, and so do
// sends without an address on a socket connected to the filtered port.
func udpPortFilter(t *testing.T) sockCase {
	p := listeners(t, "udp", "127.0.0.1", 2)
	return sockCase{
		ports:  onePort(p[0]),
		hit:    hostPort("127.0.0.1", p[0]),
		misses: []string{hostPort("127.0.0.1", p[1]), connectedPrefix + hostPort("127.0.0.1", p[0])},
	}
}

// connectedPrefix marks a helper address to connect the UDP socket to and
// then send to without an address.
const connectedPrefix = "connected:"

// unixListener accepts and closes AF_UNIX stream connections until the test
// ends, and returns its address as the helpers take it.
func unixListener(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen unix: %v", err)
	}
	acceptAndClose(t, ln)
	return "unix:" + path
}

// bindAddrFilter: for bind the "peer" is the local address being bound.
func bindAddrFilter(*testing.T) sockCase {
	return sockCase{
		peers:  []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		hit:    "127.0.0.2:0",
		misses: []string{"127.0.0.1:0", "[::1]:0"},
	}
}

var (
	scConnect4Filter = scenario{name: "connect-port-peer4", syscall: "connect", errno: "ECONNREFUSED", mode: "connect-addr", sock: connect4Filter}
	scConnect6Filter = scenario{name: "connect-port-peer6", syscall: "connect", errno: "ECONNREFUSED", mode: "connect-addr", sock: connect6Filter}
	scSendtoFilter   = scenario{name: "sendto-udp-port", syscall: "sendto", errno: "ENETUNREACH", mode: "sendto", sock: udpPortFilter}
	scSendmsgFilter  = scenario{name: "sendmsg-udp-port", syscall: "sendmsg", errno: "EPERM", mode: "sendmsg", sock: udpPortFilter}
	scBindFilter     = scenario{name: "bind-local-addr", syscall: "bind", errno: "EADDRINUSE", mode: "bind-addr", sock: bindAddrFilter}

	sockScenarios = []scenario{scConnect4Filter, scConnect6Filter, scSendtoFilter, scSendmsgFilter, scBindFilter}
)

// runSockScenario checks a socket filter end to end: from the same
// targeted cgroup, calls to the filtered address fail with the errno and
// calls to the other addresses succeed; an untargeted helper calling the
// filtered address succeeds; the counters count only the filtered calls.
func runSockScenario(t *testing.T, b Backend, sc scenario) {
	sock := sc.sock(t)
	cfg := Config{
		Syscalls: []string{sc.syscall}, Errno: sc.errno, ProbabilityBasisPoints: 10000,
		Backend: b, Ports: sock.ports, PeerCIDRs: sock.peers,
	}
	if choices, err := Plan(context.Background(), cfg); err != nil && perSyscallLimit(choices[0].Err) {
		t.Skip(perSyscallSkip + choices[0].Err.Error())
	}
	testutil.LeakCheck(t)
	cg := testutil.NewCgroup(t)
	cgFD := cg.Open(t)
	const n = 20

	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, cfg)
	if err != nil {
		t.Fatalf("attach: %+v", err)
	}
	defer a.Close()
	t.Logf("backends: %s; ports %v peers %v", a, sock.ports, sock.peers)
	if got := servedBy(a, sc.syscall); got.Backend != b {
		t.Fatalf("%s served by %+v, want backend %s", sc.syscall, got, b)
	}

	if res := runHelper(t, sc.mode, helperOpts{cgroupFD: cgFD, env: []string{"TB_ADDR=" + sock.hit}, count: n}); res.Errnos[sc.errno] != n {
		t.Errorf("target, filtered address %s: %s, want %d x %s", sock.hit, res, n, sc.errno)
	}
	for _, miss := range sock.misses {
		if res := runHelper(t, sc.mode, helperOpts{cgroupFD: cgFD, env: []string{"TB_ADDR=" + miss}, count: n}); res.OK != n {
			t.Errorf("target, address %s outside the filters: %s, want %d successes", miss, res, n)
		}
	}
	if res := runHelper(t, sc.mode, helperOpts{cgroupFD: -1, env: []string{"TB_ADDR=" + sock.hit}, count: n}); res.OK != n {
		t.Errorf("untargeted, filtered address %s: %s, want %d successes", sock.hit, res, n)
	}
	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.Matched != n || c.Failed != n {
		t.Errorf("counters %+v: want %d matched and failed (only the filtered calls)", c, n)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if res := runHelper(t, sc.mode, helperOpts{cgroupFD: cgFD, env: []string{"TB_ADDR=" + sock.hit}, count: n}); res.OK != n {
		t.Errorf("target after Close: %s, want %d successes", res, n)
	}
}

// TestSockFilterConfig checks the guards of Config: socket filters only
// with syscalls that carry an address, and only valid ranges and prefixes.
func TestSockFilterConfig(t *testing.T) {
	base := Config{Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: 10000}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" accepted
	}{
		{"ports on connect", func(c *Config) { c.Ports = onePort(5432) }, ""},
		{"peers on sendto, sendmsg, bind", func(c *Config) {
			c.Syscalls = []string{"sendto", "sendmsg", "bind"}
			c.PeerCIDRs = []netip.Prefix{netip.MustParsePrefix("fd00::/8")}
		}, ""},
		{"ports on openat", func(c *Config) { c.Syscalls = []string{"connect", "openat"}; c.Ports = onePort(1) }, `socket filters (ports, peerCIDRs) apply only to connect, bind, sendto, sendmsg, not "openat"`},
		{"peers on socket", func(c *Config) {
			c.Syscalls = []string{"socket"}
			c.PeerCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, `not "socket"`},
		{"port 0", func(c *Config) { c.Ports = []PortRange{{From: 0, To: 10}} }, "port range 0-10"},
		{"reversed range", func(c *Config) { c.Ports = []PortRange{{From: 10, To: 9}} }, "port range 10-9"},
		{"nine ranges", func(c *Config) {
			for i := 1; i <= 9; i++ {
				c.Ports = append(c.Ports, onePort(i)...)
			}
		}, "9 port ranges, at most 8"},
		{"33 peers", func(c *Config) {
			for i := 0; i < 33; i++ {
				c.PeerCIDRs = append(c.PeerCIDRs, netip.MustParsePrefix(fmt.Sprintf("10.0.%d.0/24", i)))
			}
		}, "33 peer CIDRs, at most 32"},
		{"unmasked", func(c *Config) { c.PeerCIDRs = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")} }, "not masked"},
		{"invalid", func(c *Config) { c.PeerCIDRs = []netip.Prefix{{}} }, "invalid peer CIDR"},
		{"4in6", func(c *Config) { c.PeerCIDRs = []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")} }, "IPv4-mapped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			err := c.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestSockFilterEligible tries to get a filter past a backend that cannot
// see a syscall's address: each backend refuses, with the reason, a table
// entry whose hook or arguments carry no address.
func TestSockFilterEligible(t *testing.T) {
	caps := &Capabilities{Backends: map[Backend]Support{}}
	cfg := Config{Syscalls: []string{"connect"}, Errno: "EPERM", Ports: onePort(53)}
	blind := Syscall{Name: "connect", Class: ClassNetwork, LSMHook: "socket_connect",
		CgroupHooks: []string{"cgroup/sock_create"}}
	for b, want := range map[Backend]string{
		LSM:    "hook socket_connect gives this program no socket address to compare with ports and peerCIDRs",
		Cgroup: "cgroup hooks of connect give no socket address to compare with ports and peerCIDRs",
	} {
		if _, _, err := eligible(b, blind, cfg, caps); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", b, err, want)
		}
	}
	if syscallEntryPrefix() != "" {
		for _, b := range []Backend{KprobeOverride, FmodRet} {
			_, _, err := eligible(b, blind, cfg, caps)
			if want := "connect passes no socket address that the entry program reads"; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", b, err, want)
			}
		}
	}
	// The real table: every backend can see the address of the four.
	for _, name := range []string{"connect", "bind", "sendto", "sendmsg"} {
		s := syscallTable[name]
		for _, b := range preference {
			if b != Cgroup && b != LSM && syscallEntryPrefix() == "" {
				continue
			}
			if _, _, err := eligible(b, s, cfg, caps); err != nil && strings.Contains(err.Error(), "socket address") {
				t.Errorf("%s %s: %v", b, name, err)
			}
		}
	}
}

// helperSock makes one call of a socket-filter mode to addr: "host:port",
// "unix:PATH" for an AF_UNIX socket, or "connected:host:port" for a send
// without an address on a UDP socket connected there first.
func helperSock(mode, addr string) error {
	var sa unix.Sockaddr
	family := unix.AF_UNIX
	connected := strings.HasPrefix(addr, connectedPrefix)
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		sa = &unix.SockaddrUnix{Name: path}
	} else {
		var err error
		if sa, family, err = parseSockaddr(strings.TrimPrefix(addr, connectedPrefix)); err != nil {
			return err
		}
	}
	typ := unix.SOCK_STREAM
	if mode == "sendto" || mode == "sendmsg" {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if connected {
		if err := unix.Connect(fd, sa); err != nil {
			return fmt.Errorf("connect before send: %w", err)
		}
		sa = nil
	}
	switch mode {
	case "connect-addr":
		return unix.Connect(fd, sa)
	case "bind-addr":
		return unix.Bind(fd, sa)
	case "sendto":
		return unix.Sendto(fd, []byte("x"), 0, sa)
	case "sendmsg":
		_, err := unix.SendmsgN(fd, []byte("x"), nil, sa, 0)
		return err
	}
	return fmt.Errorf("unknown socket mode %q", mode)
}

// parseSockaddr reads "host:port" (IPv4 or IPv6) as a sockaddr.
func parseSockaddr(addr string) (unix.Sockaddr, int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("address %q: %w", addr, err)
	}
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, unix.AF_INET, nil
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}, unix.AF_INET6, nil
}
