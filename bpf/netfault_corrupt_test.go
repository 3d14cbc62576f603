package bpf

import (
	"encoding/binary"
	"math/bits"
	"testing"
)

func corruptCfg(field NetfaultTbField, mode NetfaultTbMode, value int32, repair bool) NetfaultNetCfg {
	c := NetfaultNetCfg{
		Action:      NetfaultTbActionTB_ACTION_CORRUPT,
		Probability: 10000,
		Field:       field,
		Mode:        mode,
		Value:       value,
	}
	if repair {
		c.RepairCsum = 1
	}
	return c
}

// diffOffsets lists the offsets at which a and b differ.
func diffOffsets(a, b []byte) []int {
	var d []int
	for i := range a {
		if a[i] != b[i] {
			d = append(d, i)
		}
	}
	return d
}

// onlyWithin fails unless every changed byte lies in one of the [from, to)
// spans.
func onlyWithin(t *testing.T, in, out []byte, spans ...[2]int) {
	t.Helper()
	if len(in) != len(out) {
		t.Fatalf("frame length changed: %d -> %d", len(in), len(out))
	}
next:
	for _, o := range diffOffsets(in, out) {
		for _, s := range spans {
			if o >= s[0] && o < s[1] {
				continue next
			}
		}
		t.Errorf("byte %d changed: %#02x -> %#02x", o, in[o], out[o])
	}
}

func u16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }

// TestNetfaultCorruptLengths rewrites each length field and checks the exact
// bytes and the checksums, repaired or not.
func TestNetfaultCorruptLengths(t *testing.T) {
	objs := loadObjects(t)
	const (
		ipTotLen = ethLen + 2
		ipCsum   = ethLen + 10
	)
	udpLen := func(p pkt) int { return p.l4Off() + 4 }
	udpCsum := func(p pkt) int { return p.l4Off() + 6 }
	bigUDP := udp4()
	bigUDP.payload = payload(1400)
	zeroCsumUDP := udp4()

	for _, tc := range []struct {
		name      string
		pkt       pkt
		cfg       NetfaultNetCfg
		zeroCsum  bool
		corrupted bool
		check     func(t *testing.T, p pkt, in, out []byte)
	}{
		{"ipv4-totlen+100-repair", udp4(), corruptCfg(NetfaultTbFieldTB_FIELD_IPV4TOT_LEN, NetfaultTbModeTB_MODE_DELTA, 100, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got, want := u16(out, ipTotLen), u16(in, ipTotLen)+100; got != want {
					t.Errorf("total length %d, want %d", got, want)
				}
				if !ipv4HeaderOK(out) {
					t.Error("IPv4 header checksum invalid after repair")
				}
				onlyWithin(t, in, out, [2]int{ipTotLen, ipTotLen + 2}, [2]int{ipCsum, ipCsum + 2})
			}},
		{"ipv4-totlen-10-norepair", tcp4(), corruptCfg(NetfaultTbFieldTB_FIELD_IPV4TOT_LEN, NetfaultTbModeTB_MODE_DELTA, -10, false), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got, want := u16(out, ipTotLen), u16(in, ipTotLen)-10; got != want {
					t.Errorf("total length %d, want %d", got, want)
				}
				if ipv4HeaderOK(out) {
					t.Error("IPv4 header checksum valid without repair")
				}
				onlyWithin(t, in, out, [2]int{ipTotLen, ipTotLen + 2})
			}},
		{"ipv4-totlen-set-20-repair", icmp4(), corruptCfg(NetfaultTbFieldTB_FIELD_IPV4TOT_LEN, NetfaultTbModeTB_MODE_SET, 20, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got := u16(out, ipTotLen); got != 20 {
					t.Errorf("total length %d, want 20", got)
				}
				if !ipv4HeaderOK(out) {
					t.Error("IPv4 header checksum invalid after repair")
				}
			}},
		{"ipv4-totlen-saturates", udp4(), corruptCfg(NetfaultTbFieldTB_FIELD_IPV4TOT_LEN, NetfaultTbModeTB_MODE_DELTA, 70000, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got := u16(out, ipTotLen); got != 0xffff {
					t.Errorf("total length %d, want 65535", got)
				}
			}},
		{"ipv4-totlen-on-ipv6-untouched", udp6(), corruptCfg(NetfaultTbFieldTB_FIELD_IPV4TOT_LEN, NetfaultTbModeTB_MODE_DELTA, 100, true), false, false,
			func(t *testing.T, p pkt, in, out []byte) { onlyWithin(t, in, out) }},
		{"udp4-len-8-repair", udp4(), corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, -8, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got, want := u16(out, udpLen(p)), u16(in, udpLen(p))-8; got != want {
					t.Errorf("UDP length %d, want %d", got, want)
				}
				if !l4OK(out) {
					t.Error("UDP checksum over the shortened datagram invalid after repair")
				}
				onlyWithin(t, in, out, [2]int{udpLen(p), udpLen(p) + 4})
			}},
		{"udp4-len-8-norepair", udp4(), corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, -8, false), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if l4OK(out) {
					t.Error("UDP checksum valid without repair")
				}
				onlyWithin(t, in, out, [2]int{udpLen(p), udpLen(p) + 2})
			}},
		{"udp6-len-8-repair", udp6(), corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, -8, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got, want := u16(out, udpLen(p)), u16(in, udpLen(p))-8; got != want {
					t.Errorf("UDP length %d, want %d", got, want)
				}
				if !l4OK(out) {
					t.Error("UDP checksum invalid after repair")
				}
			}},
		{"udp6-len+8-repair", udp6(), corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, 8, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got, want := u16(out, udpLen(p)), u16(in, udpLen(p))+8; got != want {
					t.Errorf("UDP length %d, want %d", got, want)
				}
				if !l4OK(out) {
					t.Error("UDP checksum (header and pseudo-header) invalid after repair")
				}
			}},
		{"udp4-len-set-odd-repair", udp4(), corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_SET, 61, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got := u16(out, udpLen(p)); got != 61 {
					t.Errorf("UDP length %d, want 61", got)
				}
				if !l4OK(out) {
					t.Error("UDP checksum over an odd length invalid after repair")
				}
			}},
		{"udp4-len-1000-repair-chunks", bigUDP, corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, -1001, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got, want := u16(out, udpLen(p)), u16(in, udpLen(p))-1001; got != want {
					t.Errorf("UDP length %d, want %d", got, want)
				}
				if !l4OK(out) {
					t.Error("UDP checksum invalid after cutting 1001 bytes with repair")
				}
			}},
		{"udp4-zero-csum-stays-zero", zeroCsumUDP, corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, -8, true), true, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got := u16(out, udpCsum(p)); got != 0 {
					t.Errorf("UDP checksum %#x, want 0 (none)", got)
				}
			}},
		{"udp-len-on-tcp-untouched", tcp4(), corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, -8, true), false, false,
			func(t *testing.T, p pkt, in, out []byte) { onlyWithin(t, in, out) }},
		{"tcp4-doff+1-repair", tcp4(), corruptCfg(NetfaultTbFieldTB_FIELD_TCP_DOFF, NetfaultTbModeTB_MODE_DELTA, 1, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got := out[p.l4Off()+12] >> 4; got != 6 {
					t.Errorf("data offset %d, want 6", got)
				}
				if got, want := out[p.l4Off()+12]&0xf, in[p.l4Off()+12]&0xf; got != want {
					t.Errorf("reserved bits changed: %x -> %x", want, got)
				}
				if !l4OK(out) {
					t.Error("TCP checksum invalid after repair")
				}
				onlyWithin(t, in, out, [2]int{p.l4Off() + 12, p.l4Off() + 13}, [2]int{p.l4Off() + 16, p.l4Off() + 18})
			}},
		{"tcp6-doff-set-15-norepair", tcp6(), corruptCfg(NetfaultTbFieldTB_FIELD_TCP_DOFF, NetfaultTbModeTB_MODE_SET, 15, false), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got := out[p.l4Off()+12] >> 4; got != 15 {
					t.Errorf("data offset %d, want 15", got)
				}
				if l4OK(out) {
					t.Error("TCP checksum valid without repair")
				}
				onlyWithin(t, in, out, [2]int{p.l4Off() + 12, p.l4Off() + 13})
			}},
		{"tcp4-doff-saturates-at-0", tcp4(), corruptCfg(NetfaultTbFieldTB_FIELD_TCP_DOFF, NetfaultTbModeTB_MODE_DELTA, -20, true), false, true,
			func(t *testing.T, p pkt, in, out []byte) {
				if got := out[p.l4Off()+12] >> 4; got != 0 {
					t.Errorf("data offset %d, want 0", got)
				}
				if !l4OK(out) {
					t.Error("TCP checksum invalid after repair")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setConfig(t, objs, tc.cfg)
			in := buildFrame(tc.pkt)
			if tc.zeroCsum {
				binary.BigEndian.PutUint16(in[udpCsum(tc.pkt):], 0)
			}
			for _, prog := range []struct {
				name string
				run  func() (uint32, []byte)
			}{
				{"egress", func() (uint32, []byte) { return run(t, objs.TbTcEgress, in) }},
				{"ingress", func() (uint32, []byte) { return run(t, objs.TbTcIngress, in) }},
			} {
				t.Run(prog.name, func(t *testing.T) {
					resetCounters(t, objs)
					ret, out := prog.run()
					if ret != tcNext {
						t.Fatalf("verdict %d, want -1 (pass on)", int32(ret))
					}
					tc.check(t, tc.pkt, in, out)
					c := counters(t, objs)
					if (c.Corrupted == 1) != tc.corrupted {
						t.Errorf("corrupted counter %d, want corrupted=%v", c.Corrupted, tc.corrupted)
					}
				})
			}
		})
	}
}

// TestNetfaultCorruptPayload flips bits in payload bytes of every protocol
// and checks that exactly N distinct payload bytes changed by one bit each,
// and the checksum.
func TestNetfaultCorruptPayload(t *testing.T) {
	objs := loadObjects(t)
	tiny := udp4()
	tiny.payload = payload(3)
	odd := tcp6()
	odd.payload = payload(33)
	for _, tc := range []struct {
		name   string
		pkt    pkt
		n      uint32
		repair bool
		want   int // bytes that must change
	}{
		{"udp4-4-repair", udp4(), 4, true, 4},
		{"udp4-1-norepair", udp4(), 1, false, 1},
		{"udp6-16-repair", udp6(), 16, true, 16},
		{"tcp4-8-repair", tcp4(), 8, true, 8},
		{"tcp6-odd-len-16-repair", odd, 16, true, 16},
		{"tcp6-1-norepair", tcp6(), 1, false, 1},
		{"icmp4-4-repair", icmp4(), 4, true, 4},
		{"icmp4-1-norepair", icmp4(), 1, false, 1},
		{"icmp6-4-repair", icmp6(), 4, true, 4},
		{"icmp6-1-norepair", icmp6(), 1, false, 1},
		{"payload-shorter-than-n", tiny, 16, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := corruptCfg(NetfaultTbFieldTB_FIELD_PAYLOAD, NetfaultTbModeTB_MODE_DELTA, 0, tc.repair)
			cfg.PayloadBytes = tc.n
			setConfig(t, objs, cfg)
			in := buildFrame(tc.pkt)
			csumOff := tc.pkt.l4Off() + csumOffset(tc.pkt.proto)
			// Many runs, so that odd and even positions and the last
			// byte are all hit.
			for i := 0; i < 200; i++ {
				ret, out := run(t, objs.TbTcEgress, in)
				if ret != tcNext {
					t.Fatalf("verdict %d", int32(ret))
				}
				changed := 0
				for _, o := range diffOffsets(in, out) {
					switch {
					case o >= tc.pkt.payloadOff():
						changed++
						if bits.OnesCount8(in[o]^out[o]) != 1 {
							t.Fatalf("byte %d changed in %d bits", o, bits.OnesCount8(in[o]^out[o]))
						}
					case o == csumOff || o == csumOff+1:
						if !tc.repair {
							t.Fatalf("checksum byte %d changed without repair", o)
						}
					default:
						t.Fatalf("header byte %d changed", o)
					}
				}
				if changed != tc.want {
					t.Fatalf("%d payload bytes changed, want %d", changed, tc.want)
				}
				if ok := l4OK(out); ok != tc.repair {
					t.Fatalf("checksum valid=%v, want %v", ok, tc.repair)
				}
			}
		})
	}
}

// TestNetfaultCorruptProbability checks that corruption honours the
// probability: none at 0, about half at 5000.
func TestNetfaultCorruptProbability(t *testing.T) {
	objs := loadObjects(t)
	cfg := corruptCfg(NetfaultTbFieldTB_FIELD_PAYLOAD, NetfaultTbModeTB_MODE_DELTA, 0, true)
	cfg.PayloadBytes = 1
	in := buildFrame(udp4())
	for _, tc := range []struct {
		prob     uint32
		min, max uint64
	}{{0, 0, 0}, {5000, 4000, 6000}, {10000, 10000, 10000}} {
		cfg.Probability = tc.prob
		setConfig(t, objs, cfg)
		resetCounters(t, objs)
		if _, _, err := objs.TbTcIngress.Benchmark(in, 10000, nil); err != nil {
			t.Fatal(err)
		}
		c := counters(t, objs)
		if c.Corrupted < tc.min || c.Corrupted > tc.max || c.Matched < 10000 {
			t.Errorf("probability %d: corrupted %d of %d, want %d..%d", tc.prob, c.Corrupted, c.Matched, tc.min, tc.max)
		}
	}
}
