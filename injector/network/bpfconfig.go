package network

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/temblor-dev/temblor/bpf"
)

// bpfConfig translates a validated Config into entry 0 of tb_net_cfg.
func bpfConfig(c Config) bpf.NetfaultNetCfg {
	out := bpf.NetfaultNetCfg{Probability: c.ProbabilityBasisPoints}
	switch c.Action {
	case ActionDrop:
		out.Action = bpf.NetfaultTbActionTB_ACTION_DROP
	case ActionCorrupt:
		out.Action = bpf.NetfaultTbActionTB_ACTION_CORRUPT
	}
	switch c.Protocol {
	case ProtocolTCP:
		out.Proto = bpf.NetfaultTbProtoTB_PROTO_TCP
	case ProtocolUDP:
		out.Proto = bpf.NetfaultTbProtoTB_PROTO_UDP
	case ProtocolICMP:
		out.Proto = bpf.NetfaultTbProtoTB_PROTO_ICMP
	default:
		out.Proto = bpf.NetfaultTbProtoTB_PROTO_ANY
	}
	out.Sports, out.N_sports = portRanges(c.SourcePorts)
	out.Dports, out.N_dports = portRanges(c.DestinationPorts)
	out.Ports, out.N_ports = portRanges(c.Ports)
	if len(c.PeerCIDRs) > 0 {
		out.PeerFilter = 1
	}
	if c.Action == ActionCorrupt {
		cc := c.Corrupt
		switch cc.Field {
		case FieldIPv4TotalLength:
			out.Field = bpf.NetfaultTbFieldTB_FIELD_IPV4TOT_LEN
		case FieldUDPLength:
			out.Field = bpf.NetfaultTbFieldTB_FIELD_UDP_LEN
		case FieldTCPDataOffset:
			out.Field = bpf.NetfaultTbFieldTB_FIELD_TCP_DOFF
		case FieldPayload:
			out.Field = bpf.NetfaultTbFieldTB_FIELD_PAYLOAD
			out.PayloadBytes = uint32(cc.PayloadBytes)
		}
		switch {
		case cc.Value != nil:
			out.Mode = bpf.NetfaultTbModeTB_MODE_SET
			out.Value = int32(*cc.Value)
		case cc.Delta != nil:
			out.Mode = bpf.NetfaultTbModeTB_MODE_DELTA
			out.Value = *cc.Delta
		}
		if cc.RepairChecksum {
			out.RepairCsum = 1
		}
	}
	return out
}

func portRanges(rs []PortRange) (out [MaxPortRanges]bpf.NetfaultPortRange, n uint8) {
	for i, r := range rs {
		out[i] = bpf.NetfaultPortRange{From: r.From, To: r.To}
	}
	return out, uint8(len(rs))
}

// loadShared loads the main netfault programs that Config c needs, with
// counters for slots targets, writes c into the maps and puts the programs
// into the prog arrays the stubs tail-call through.
func loadShared(c Config, slots int) (*bpf.NetfaultObjects, error) {
	spec, err := netfaultSpec()
	if err != nil {
		return nil, fmt.Errorf("load netfault object spec: %w", err)
	}
	// Load, and have the verifier check, only the programs this Config
	// attaches: an egress drop needs neither the ingress tc nor the XDP
	// program. The verifier is most of a load's CPU.
	cs := spec.Copy()
	for name := range cs.Programs {
		if !slices.Contains(neededPrograms(c), name) {
			delete(cs.Programs, name)
		}
	}
	cs.Maps[bpf.NetfaultMapTbNetCnt].MaxEntries = uint32(slots)
	coll, err := ebpf.NewCollection(cs)
	if err != nil {
		return nil, fmt.Errorf("load netfault programs: %w", err)
	}
	defer coll.Close() // whatever was not handed over below
	var objs bpf.NetfaultObjects
	if err := coll.Assign(&objs.NetfaultMaps); err != nil {
		return nil, fmt.Errorf("assign netfault maps: %w", err)
	}
	objs.TbTcEgress = coll.DetachProgram(bpf.NetfaultProgTbTcEgress)
	objs.TbTcIngress = coll.DetachProgram(bpf.NetfaultProgTbTcIngress)
	objs.TbXdpIngress = coll.DetachProgram(bpf.NetfaultProgTbXdpIngress)
	if err := writeConfig(&objs, c); err != nil {
		return nil, errors.Join(err, objs.Close())
	}
	if err := fillProgArrays(&objs); err != nil {
		return nil, errors.Join(err, unloadShared(&objs))
	}
	return &objs, nil
}

// tailCall is where a main program goes in the prog arrays.
type tailCall struct {
	progs *ebpf.Map
	index uint32
	prog  *ebpf.Program // nil if not loaded
}

// tailCalls lists where each main program goes in the prog arrays.
func tailCalls(objs *bpf.NetfaultObjects) []tailCall {
	return []tailCall{
		{objs.TbTcProgs, bpf.NetfaultTailTCIngress, objs.TbTcIngress},
		{objs.TbTcProgs, bpf.NetfaultTailTCEgress, objs.TbTcEgress},
		{objs.TbXdpProgs, bpf.NetfaultTailXDPIngress, objs.TbXdpIngress},
	}
}

// fillProgArrays puts each loaded main program at its stubs' index.
func fillProgArrays(objs *bpf.NetfaultObjects) error {
	for _, t := range tailCalls(objs) {
		if t.prog == nil {
			continue
		}
		if err := t.progs.Put(t.index, t.prog); err != nil {
			return fmt.Errorf("put %s into prog array: %w", t.prog, err)
		}
	}
	return nil
}

// unloadShared empties the prog arrays (so the programs go now, not when the
// kernel clears the arrays after their last descriptor closes) and closes
// every program and map.
func unloadShared(objs *bpf.NetfaultObjects) error {
	var errs []error
	for _, t := range tailCalls(objs) {
		if t.prog == nil {
			continue
		}
		if err := t.progs.Delete(t.index); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("remove %s from prog array: %w", t.prog, err))
		}
	}
	if err := objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("unload netfault programs: %w", err))
	}
	return errors.Join(errs...)
}

// netfaultSpec parses the embedded object once.
var netfaultSpec = sync.OnceValues(bpf.LoadNetfault)

// neededPrograms names the programs Config c can attach: tc egress for
// egress, tc ingress for ingress, and XDP too for an ingress drop that may
// use it (tc ingress stays loaded as XDP's fallback in Auto mode).
func neededPrograms(c Config) []string {
	var out []string
	if c.Direction&Egress != 0 {
		out = append(out, bpf.NetfaultProgTbTcEgress)
	}
	if c.Direction&Ingress != 0 {
		if c.Action == ActionDrop && c.XDP != XDPDisabled {
			out = append(out, bpf.NetfaultProgTbXdpIngress)
		}
		if !(c.Action == ActionDrop && c.XDP != XDPDisabled && c.XDP != XDPAuto) {
			out = append(out, bpf.NetfaultProgTbTcIngress)
		}
	}
	return out
}

func writeConfig(objs *bpf.NetfaultObjects, c Config) error {
	for _, p := range c.PeerCIDRs {
		p = p.Masked()
		var err error
		if p.Addr().Is4() || p.Addr().Is4In6() {
			bits := p.Bits()
			if p.Addr().Is4In6() {
				bits -= 96
			}
			err = objs.TbPeer4.Put(bpf.NetfaultLpmV4Key{Prefixlen: uint32(bits), Addr: p.Addr().Unmap().As4()}, uint8(1))
		} else {
			err = objs.TbPeer6.Put(bpf.NetfaultLpmV6Key{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As16()}, uint8(1))
		}
		if err != nil {
			return fmt.Errorf("add peer CIDR %s: %w", p, err)
		}
	}
	cfg := bpfConfig(c)
	if err := objs.TbNetCfg.Put(uint32(0), &cfg); err != nil {
		return fmt.Errorf("write netfault config: %w", err)
	}
	return nil
}
