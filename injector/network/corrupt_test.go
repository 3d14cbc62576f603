package network

import (
	"bytes"
	"math/bits"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/internal/testutil"
)

func ptr[T any](v T) *T { return &v }

// corruptPair is a veth pair whose ends compute and verify real checksums:
// with transmit checksum offload on, veth hands over CHECKSUM_PARTIAL packets
// that the receiver never verifies, which would hide a broken repair.
func corruptPair(t *testing.T) *testutil.VethPair {
	p := testutil.NewVethPair(t)
	testutil.SetTxChecksum(t, p.A, p.Ifname, false)
	testutil.SetTxChecksum(t, p.B, p.Ifname, false)
	return p
}

// corruptSides attaches the fault on A's egress with tcx and on B's ingress
// with netlink tc: both paths, both methods.
var corruptSides = []struct {
	name   string
	onA    bool
	dir    Direction
	method Method
}{
	{"tcx-egress", true, Egress, MethodTCX},
	{"netlink-tc-ingress", false, Ingress, MethodNetlinkTC},
}

func sideNS(p *testutil.VethPair, onA bool) string {
	if onA {
		return p.A
	}
	return p.B
}

// TestCorruptUDPLength shrinks the UDP length by 8 with checksum repair: the
// receiving application gets the datagram without its last 8 bytes.
func TestCorruptUDPLength(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p := corruptPair(t)
	msg := []byte("temblor truncates this datagram: the last eight bytes go->12345678")
	for _, side := range corruptSides {
		t.Run(side.name, func(t *testing.T) {
			a := attach(t, sideNS(p, side.onA), Config{
				Action: ActionCorrupt, Direction: side.dir, ProbabilityBasisPoints: ProbabilityOne, Protocol: ProtocolUDP,
				Corrupt: CorruptConfig{Field: FieldUDPLength, Delta: ptr(int32(-8)), RepairChecksum: true},
				Method:  side.method,
			})
			for _, dst := range []struct {
				name string
				ip   func() []byte
			}{{"ipv4", nil}, {"ipv6", nil}} {
				addr := p.B4
				if dst.name == "ipv6" {
					addr = p.B6
				}
				got := udpExchange(t, p.A, p.B, addr, msg)
				if len(got) == 0 {
					t.Fatalf("%s: nothing delivered", dst.name)
				}
				for _, d := range got {
					if !bytes.Equal(d, msg[:len(msg)-8]) {
						t.Errorf("%s: delivered %q, want %q", dst.name, d, msg[:len(msg)-8])
					}
				}
			}
			if c, _ := a.Counters(); c.Corrupted == 0 {
				t.Errorf("counters %+v: nothing corrupted", c)
			}
		})
	}
}

// TestCorruptIPv4TotalLength grows the IPv4 total length with header
// checksum repair: the receiver drops the packets as truncated.
func TestCorruptIPv4TotalLength(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p := corruptPair(t)
	for _, side := range corruptSides {
		t.Run(side.name, func(t *testing.T) {
			attach(t, sideNS(p, side.onA), Config{
				Action: ActionCorrupt, Direction: side.dir, ProbabilityBasisPoints: ProbabilityOne, Protocol: ProtocolUDP,
				Corrupt: CorruptConfig{Field: FieldIPv4TotalLength, Delta: ptr(int32(100)), RepairChecksum: true},
				Method:  side.method,
			})
			before := testutil.NetStats(t, p.B)
			got := udpExchange(t, p.A, p.B, p.B4, []byte("grown"))
			after := testutil.NetStats(t, p.B)
			t.Logf("IpExtInTruncatedPkts %d -> %d, IpInHdrErrors %d -> %d", before["IpExtInTruncatedPkts"], after["IpExtInTruncatedPkts"],
				before["IpInHdrErrors"], after["IpInHdrErrors"])
			if len(got) != 0 {
				t.Errorf("delivered %q", got)
			}
			if d := after["IpExtInTruncatedPkts"] - before["IpExtInTruncatedPkts"]; d != 3 {
				t.Errorf("IpExtInTruncatedPkts rose by %d, want 3", d)
			}
			if after["IpInHdrErrors"] != before["IpInHdrErrors"] {
				t.Error("IpInHdrErrors rose: the header checksum was not repaired")
			}
		})
	}
}

// TestCorruptPayload flips bits in 4 payload bytes: with repair the
// application gets the changed bytes; without, the receiver drops the
// datagram on its checksum.
func TestCorruptPayload(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p := corruptPair(t)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 8)
	for _, side := range corruptSides {
		t.Run(side.name+"/repair", func(t *testing.T) {
			attach(t, sideNS(p, side.onA), Config{
				Action: ActionCorrupt, Direction: side.dir, ProbabilityBasisPoints: ProbabilityOne, Protocol: ProtocolUDP,
				Corrupt: CorruptConfig{Field: FieldPayload, PayloadBytes: 4, RepairChecksum: true},
				Method:  side.method,
			})
			got := udpExchange(t, p.A, p.B, p.B6, msg)
			if len(got) != 3 {
				t.Fatalf("%d of 3 datagrams delivered", len(got))
			}
			for _, d := range got {
				if len(d) != len(msg) {
					t.Fatalf("length %d, want %d", len(d), len(msg))
				}
				changed := 0
				for i := range d {
					if x := d[i] ^ msg[i]; x != 0 {
						changed++
						if bits.OnesCount8(x) != 1 {
							t.Errorf("byte %d differs in %d bits", i, bits.OnesCount8(x))
						}
					}
				}
				if changed != 4 {
					t.Errorf("%d bytes changed, want 4: %q", changed, d)
				}
			}
		})
		t.Run(side.name+"/no-repair", func(t *testing.T) {
			attach(t, sideNS(p, side.onA), Config{
				Action: ActionCorrupt, Direction: side.dir, ProbabilityBasisPoints: ProbabilityOne, Protocol: ProtocolUDP,
				Corrupt: CorruptConfig{Field: FieldPayload, PayloadBytes: 1},
				Method:  side.method,
			})
			before := testutil.NetStats(t, p.B)
			got := udpExchange(t, p.A, p.B, p.B4, msg)
			time.Sleep(10 * time.Millisecond)
			after := testutil.NetStats(t, p.B)
			if len(got) != 0 {
				t.Errorf("%d corrupted datagrams delivered despite a bad checksum", len(got))
			}
			if d := after["UdpInCsumErrors"] - before["UdpInCsumErrors"]; d != 3 {
				t.Errorf("UdpInCsumErrors rose by %d, want 3", d)
			}
		})
	}
}
