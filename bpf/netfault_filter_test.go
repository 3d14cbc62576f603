package bpf

import (
	"net/netip"
	"testing"
)

// TestNetfaultFilters runs every program on crafted frames with a drop-all
// action and checks which frames each filter lets through.
func TestNetfaultFilters(t *testing.T) {
	objs := loadObjects(t)

	withPorts := func(f func(c *NetfaultNetCfg)) NetfaultNetCfg {
		c := dropAll()
		f(&c)
		return c
	}
	peersB := []netip.Prefix{netip.MustParsePrefix("10.199.0.2/32"), netip.MustParsePrefix("fd00:199::2/128")}
	peersNet := []netip.Prefix{netip.MustParsePrefix("10.199.0.0/24"), netip.MustParsePrefix("fd00:199::/64")}
	peersOther := []netip.Prefix{netip.MustParsePrefix("10.198.0.0/16")}

	for _, tc := range []struct {
		name    string
		cfg     NetfaultNetCfg
		peers   []netip.Prefix
		pkt     pkt
		egress  bool // dropped on egress
		ingress bool // dropped on ingress
	}{
		{"any/udp4", dropAll(), nil, udp4(), true, true},
		{"any/icmp6", dropAll(), nil, icmp6(), true, true},
		{"tcp/tcp4", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_TCP }), nil, tcp4(), true, true},
		{"tcp/udp4", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_TCP }), nil, udp4(), false, false},
		{"tcp/tcp6", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_TCP }), nil, tcp6(), true, true},
		{"udp/udp6", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_UDP }), nil, udp6(), true, true},
		{"udp/tcp6", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_UDP }), nil, tcp6(), false, false},
		{"icmp/icmp4", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_ICMP }), nil, icmp4(), true, true},
		{"icmp/icmp6", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_ICMP }), nil, icmp6(), true, true},
		{"icmp/udp4", withPorts(func(c *NetfaultNetCfg) { c.Proto = NetfaultTbProtoTB_PROTO_ICMP }), nil, udp4(), false, false},
		{"dport-hit", withPorts(func(c *NetfaultNetCfg) { c.Dports, c.N_dports = ranges([2]uint16{1, 10}, [2]uint16{50, 60}) }), nil, udp4(), true, true},
		{"dport-miss", withPorts(func(c *NetfaultNetCfg) { c.Dports, c.N_dports = ranges([2]uint16{1, 10}, [2]uint16{54, 60}) }), nil, udp4(), false, false},
		{"dport-8th-range", withPorts(func(c *NetfaultNetCfg) {
			c.Dports, c.N_dports = ranges([2]uint16{1, 1}, [2]uint16{2, 2}, [2]uint16{3, 3}, [2]uint16{4, 4}, [2]uint16{5, 5}, [2]uint16{6, 6}, [2]uint16{7, 7}, [2]uint16{80, 80})
		}), nil, tcp6(), true, true},
		{"sport-hit", withPorts(func(c *NetfaultNetCfg) { c.Sports, c.N_sports = ranges([2]uint16{40000, 40000}) }), nil, tcp4(), true, true},
		{"sport-miss", withPorts(func(c *NetfaultNetCfg) { c.Sports, c.N_sports = ranges([2]uint16{80, 80}) }), nil, tcp4(), false, false},
		{"ports-either-src", withPorts(func(c *NetfaultNetCfg) { c.Ports, c.N_ports = ranges([2]uint16{39000, 41000}) }), nil, tcp4(), true, true},
		{"ports-either-dst", withPorts(func(c *NetfaultNetCfg) { c.Ports, c.N_ports = ranges([2]uint16{80, 80}) }), nil, tcp6(), true, true},
		{"ports-miss", withPorts(func(c *NetfaultNetCfg) { c.Ports, c.N_ports = ranges([2]uint16{81, 39999}) }), nil, tcp4(), false, false},
		{"ports-on-icmp", withPorts(func(c *NetfaultNetCfg) { c.Ports, c.N_ports = ranges([2]uint16{0, 65535}) }), nil, icmp4(), false, false},
		{"sport+dport", withPorts(func(c *NetfaultNetCfg) {
			c.Sports, c.N_sports = ranges([2]uint16{5000, 5000})
			c.Dports, c.N_dports = ranges([2]uint16{53, 53})
		}), nil, udp6(), true, true},
		{"sport+dport-miss", withPorts(func(c *NetfaultNetCfg) {
			c.Sports, c.N_sports = ranges([2]uint16{5000, 5000})
			c.Dports, c.N_dports = ranges([2]uint16{54, 54})
		}), nil, udp6(), false, false},
		// The frame goes from A to B: B is the peer on egress, A on ingress.
		{"peer-dst4", withPorts(func(c *NetfaultNetCfg) { c.PeerFilter = 1 }), peersB, udp4(), true, false},
		{"peer-dst6", withPorts(func(c *NetfaultNetCfg) { c.PeerFilter = 1 }), peersB, tcp6(), true, false},
		{"peer-net4", withPorts(func(c *NetfaultNetCfg) { c.PeerFilter = 1 }), peersNet, icmp4(), true, true},
		{"peer-net6", withPorts(func(c *NetfaultNetCfg) { c.PeerFilter = 1 }), peersNet, icmp6(), true, true},
		{"peer-other", withPorts(func(c *NetfaultNetCfg) { c.PeerFilter = 1 }), peersOther, udp4(), false, false},
		{"peer-v4-only-vs-v6", withPorts(func(c *NetfaultNetCfg) { c.PeerFilter = 1 }), peersNet[:1], udp6(), false, false},
		{"probability-0", withPorts(func(c *NetfaultNetCfg) { c.Probability = 0 }), nil, udp4(), false, false},
		{"count-only", withPorts(func(c *NetfaultNetCfg) { c.Action = NetfaultTbActionTB_ACTION_NONE }), nil, udp4(), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setConfig(t, objs, tc.cfg, tc.peers...)
			frame := buildFrame(tc.pkt)
			want := func(drop bool, dropRet, passRet uint32) uint32 {
				if drop {
					return dropRet
				}
				return passRet
			}
			if got, _ := run(t, objs.TbTcEgress, frame); got != want(tc.egress, tcShot, tcNext) {
				t.Errorf("tc egress verdict %d, want %d", int32(got), int32(want(tc.egress, tcShot, tcNext)))
			}
			if got, _ := run(t, objs.TbTcIngress, frame); got != want(tc.ingress, tcShot, tcNext) {
				t.Errorf("tc ingress verdict %d, want %d", int32(got), int32(want(tc.ingress, tcShot, tcNext)))
			}
			if got, _ := run(t, objs.TbXdpIngress, frame); got != want(tc.ingress, xdpDrop, xdpPass) {
				t.Errorf("xdp ingress verdict %d, want %d", got, want(tc.ingress, xdpDrop, xdpPass))
			}
		})
	}
}

// TestNetfaultNonIP checks that frames the parser does not understand pass
// and are counted as seen only.
func TestNetfaultNonIP(t *testing.T) {
	objs := loadObjects(t)
	setConfig(t, objs, dropAll())
	resetCounters(t, objs)
	arp := make([]byte, 60)
	arp[12], arp[13] = 0x08, 0x06
	if got, _ := run(t, objs.TbTcEgress, arp); got != tcNext {
		t.Errorf("arp on tc egress: verdict %d", int32(got))
	}
	if got, _ := run(t, objs.TbXdpIngress, arp); got != xdpPass {
		t.Errorf("arp on xdp: verdict %d", got)
	}
	if c := counters(t, objs); c.Seen != 2 || c.Matched != 0 || c.Dropped != 0 {
		t.Errorf("counters %+v, want seen 2 only", c)
	}
}

// TestNetfaultCounters checks seen, matched and dropped.
func TestNetfaultCounters(t *testing.T) {
	objs := loadObjects(t)
	cfg := dropAll()
	cfg.Proto = NetfaultTbProtoTB_PROTO_UDP
	setConfig(t, objs, cfg)
	resetCounters(t, objs)
	run(t, objs.TbTcEgress, buildFrame(udp4()))
	run(t, objs.TbTcEgress, buildFrame(tcp4()))
	run(t, objs.TbXdpIngress, buildFrame(udp6()))
	want := NetfaultNetCnt{Seen: 3, Matched: 2, Dropped: 2}
	if c := counters(t, objs); c != want {
		t.Errorf("counters %+v, want %+v", c, want)
	}
}

// TestNetfaultProbability drops 30% of 100000 runs of one frame and checks
// the dropped fraction within one percentage point.
func TestNetfaultProbability(t *testing.T) {
	objs := loadObjects(t)
	for _, prog := range []struct {
		name string
		run  func() error
	}{
		{"tc", func() error { _, _, err := objs.TbTcEgress.Benchmark(buildFrame(udp4()), 100000, nil); return err }},
		{"xdp", func() error { _, _, err := objs.TbXdpIngress.Benchmark(buildFrame(udp6()), 100000, nil); return err }},
	} {
		t.Run(prog.name, func(t *testing.T) {
			cfg := dropAll()
			cfg.Probability = 3000
			setConfig(t, objs, cfg)
			resetCounters(t, objs)
			if err := prog.run(); err != nil {
				t.Fatal(err)
			}
			c := counters(t, objs)
			if c.Matched < 100000 {
				t.Fatalf("matched %d, want at least 100000", c.Matched)
			}
			frac := float64(c.Dropped) / float64(c.Matched)
			t.Logf("dropped %d of %d: %.4f", c.Dropped, c.Matched, frac)
			if frac < 0.29 || frac > 0.31 {
				t.Errorf("dropped fraction %.4f, want 0.30±0.01", frac)
			}
		})
	}
}
