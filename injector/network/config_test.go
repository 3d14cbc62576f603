package network

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/temblor-dev/temblor/bpf"
)

func TestValidate(t *testing.T) {
	ok := Config{Action: ActionDrop, Direction: Both, ProbabilityBasisPoints: 5000}
	for _, tc := range []struct {
		name string
		cfg  func(c *Config)
		want string // substring of the error, "" for valid
	}{
		{"valid-drop", func(c *Config) {}, ""},
		{"valid-corrupt", func(c *Config) {
			c.Action = ActionCorrupt
			c.Corrupt = CorruptConfig{Field: FieldUDPLength, Delta: ptr(int32(-8)), RepairChecksum: true}
		}, ""},
		{"no-action", func(c *Config) { c.Action = 0 }, "action 0"},
		{"no-direction", func(c *Config) { c.Direction = 0 }, "direction 0"},
		{"probability", func(c *Config) { c.ProbabilityBasisPoints = 10001 }, "at most 10000"},
		{"reversed-range", func(c *Config) { c.Ports = []PortRange{{10, 1}} }, "reversed"},
		{"too-many-ranges", func(c *Config) { c.SourcePorts = make([]PortRange, 9) }, "9 ranges"},
		{"icmp-ports", func(c *Config) { c.Protocol = ProtocolICMP; c.DestinationPorts = []PortRange{{1, 1}} }, "ICMP has no ports"},
		{"bad-cidr", func(c *Config) { c.PeerCIDRs = []netip.Prefix{{}} }, "invalid"},
		{"delta-and-value", func(c *Config) {
			c.Action = ActionCorrupt
			c.Corrupt = CorruptConfig{Field: FieldIPv4TotalLength, Delta: ptr(int32(1)), Value: ptr(uint32(1))}
		}, "exactly one"},
		{"zero-delta", func(c *Config) {
			c.Action = ActionCorrupt
			c.Corrupt = CorruptConfig{Field: FieldTCPDataOffset, Delta: ptr(int32(0))}
		}, "delta of 0"},
		{"payload-bytes", func(c *Config) {
			c.Action = ActionCorrupt
			c.Corrupt = CorruptConfig{Field: FieldPayload, PayloadBytes: 17}
		}, "payload bytes 17"},
		{"udp-len-on-tcp", func(c *Config) {
			c.Action, c.Protocol = ActionCorrupt, ProtocolTCP
			c.Corrupt = CorruptConfig{Field: FieldUDPLength, Delta: ptr(int32(1))}
		}, "needs protocol UDP"},
		{"no-field", func(c *Config) { c.Action = ActionCorrupt }, "field 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.cfg(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBPFConfig(t *testing.T) {
	got := bpfConfig(Config{
		Action: ActionCorrupt, Direction: Egress, ProbabilityBasisPoints: 250, Protocol: ProtocolUDP,
		SourcePorts: []PortRange{{1, 2}}, Ports: []PortRange{{5, 6}, {7, 8}},
		PeerCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Corrupt:   CorruptConfig{Field: FieldIPv4TotalLength, Value: ptr(uint32(20)), RepairChecksum: true},
	})
	want := bpf.NetfaultNetCfg{
		Action: bpf.NetfaultTbActionTB_ACTION_CORRUPT, Probability: 250, Proto: bpf.NetfaultTbProtoTB_PROTO_UDP,
		Field: bpf.NetfaultTbFieldTB_FIELD_IPV4TOT_LEN, Mode: bpf.NetfaultTbModeTB_MODE_SET, Value: 20,
		RepairCsum: 1, PeerFilter: 1, N_sports: 1, N_ports: 2,
	}
	want.Sports[0] = bpf.NetfaultPortRange{From: 1, To: 2}
	want.Ports[0] = bpf.NetfaultPortRange{From: 5, To: 6}
	want.Ports[1] = bpf.NetfaultPortRange{From: 7, To: 8}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
