package bpf

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// Return codes of the programs.
const (
	tcNext  = ^uint32(0) // TC_ACT_UNSPEC / TCX_NEXT
	tcShot  = 2
	xdpDrop = 1
	xdpPass = 2
)

var (
	addrA  = netip.MustParseAddr("10.199.0.1")
	addrB  = netip.MustParseAddr("10.199.0.2")
	addr6A = netip.MustParseAddr("fd00:199::1")
	addr6B = netip.MustParseAddr("fd00:199::2")
)

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func udp4() pkt {
	return pkt{src: addrA, dst: addrB, proto: 17, sport: 5000, dport: 53, payload: payload(64)}
}
func tcp4() pkt {
	return pkt{src: addrA, dst: addrB, proto: 6, sport: 40000, dport: 80, payload: payload(100)}
}
func icmp4() pkt { return pkt{src: addrA, dst: addrB, proto: 1, payload: payload(56)} }
func udp6() pkt {
	return pkt{src: addr6A, dst: addr6B, proto: 17, sport: 5000, dport: 53, payload: payload(64)}
}
func tcp6() pkt {
	return pkt{src: addr6A, dst: addr6B, proto: 6, sport: 40000, dport: 80, payload: payload(100)}
}
func icmp6() pkt { return pkt{src: addr6A, dst: addr6B, proto: 58, payload: payload(56)} }

// loadObjects loads the netfault object and closes it at the end of the test.
func loadObjects(tb testing.TB) *NetfaultObjects {
	tb.Helper()
	testutil.RequireRoot(tb)
	testutil.LeakCheckEventually(tb)
	var objs NetfaultObjects
	if err := LoadNetfaultObjects(&objs, nil); err != nil {
		testutil.SkipIfNotSupported(tb, err)
	}
	tb.Cleanup(func() { objs.Close() })
	return &objs
}

func setConfig(tb testing.TB, objs *NetfaultObjects, cfg NetfaultNetCfg, peers ...netip.Prefix) {
	tb.Helper()
	if err := objs.TbNetCfg.Put(uint32(0), &cfg); err != nil {
		tb.Fatalf("put config: %v", err)
	}
	for _, m := range []*ebpf.Map{objs.TbPeer4, objs.TbPeer6} {
		var k []byte
		var keys [][]byte
		it := m.Iterate()
		for it.Next(&k, new(uint8)) {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := m.Delete(k); err != nil {
				tb.Fatalf("delete peer: %v", err)
			}
		}
	}
	for _, p := range peers {
		var err error
		if p.Addr().Is4() {
			err = objs.TbPeer4.Put(NetfaultLpmV4Key{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As4()}, uint8(1))
		} else {
			err = objs.TbPeer6.Put(NetfaultLpmV6Key{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As16()}, uint8(1))
		}
		if err != nil {
			tb.Fatalf("put peer %s: %v", p, err)
		}
	}
}

func counters(tb testing.TB, objs *NetfaultObjects) NetfaultNetCnt {
	tb.Helper()
	var per []NetfaultNetCnt
	if err := objs.TbNetCnt.Lookup(uint32(0), &per); err != nil {
		tb.Fatalf("lookup counters: %v", err)
	}
	var sum NetfaultNetCnt
	for _, c := range per {
		sum.Seen += c.Seen
		sum.Matched += c.Matched
		sum.Dropped += c.Dropped
		sum.Corrupted += c.Corrupted
	}
	return sum
}

func resetCounters(tb testing.TB, objs *NetfaultObjects) {
	tb.Helper()
	zero := make([]NetfaultNetCnt, ebpf.MustPossibleCPU())
	if err := objs.TbNetCnt.Put(uint32(0), zero); err != nil {
		tb.Fatalf("reset counters: %v", err)
	}
}

// run runs prog once on frame and returns its verdict and output frame.
func run(tb testing.TB, prog *ebpf.Program, frame []byte) (uint32, []byte) {
	tb.Helper()
	opts := ebpf.RunOptions{Data: frame, DataOut: make([]byte, len(frame)+512)}
	ret, err := prog.Run(&opts)
	if err != nil {
		tb.Fatalf("run %s: %v", prog, err)
	}
	return ret, opts.DataOut
}

func dropAll() NetfaultNetCfg {
	return NetfaultNetCfg{Action: NetfaultTbActionTB_ACTION_DROP, Probability: 10000}
}

func ranges(rs ...[2]uint16) (out [8]NetfaultPortRange, n uint8) {
	for i, r := range rs {
		out[i] = NetfaultPortRange{From: r[0], To: r[1]}
	}
	return out, uint8(len(rs))
}
