package convert

import (
	"errors"
	"fmt"
	"net/netip"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
)

// Network converts a network action to an injector/network configuration.
func Network(a *chaosv1.NetworkAction) (network.Config, error) {
	if a == nil {
		return network.Config{}, errors.New("convert network action: none given")
	}
	var errs []error
	cfg := network.Config{Interface: a.Interface}
	switch a.Type {
	case chaosv1.NetworkDrop:
		cfg.Action = network.ActionDrop
	case chaosv1.NetworkCorrupt:
		cfg.Action = network.ActionCorrupt
	default:
		errs = append(errs, fmt.Errorf("unknown action type %q", a.Type))
	}
	switch a.Direction {
	case chaosv1.DirectionIngress:
		cfg.Direction = network.Ingress
	case chaosv1.DirectionEgress:
		cfg.Direction = network.Egress
	case chaosv1.DirectionBoth, "":
		cfg.Direction = network.Both
	default:
		errs = append(errs, fmt.Errorf("unknown direction %q", a.Direction))
	}
	switch a.Protocol {
	case "":
		cfg.Protocol = network.ProtocolAny
	case chaosv1.ProtocolTCP:
		cfg.Protocol = network.ProtocolTCP
	case chaosv1.ProtocolUDP:
		cfg.Protocol = network.ProtocolUDP
	case chaosv1.ProtocolICMP:
		cfg.Protocol = network.ProtocolICMP
	default:
		errs = append(errs, fmt.Errorf("unknown protocol %q", a.Protocol))
	}
	bp, err := BasisPoints(a.Probability)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.ProbabilityBasisPoints = bp
	for _, p := range []struct {
		name string
		in   []chaosv1.PortRange
		out  *[]network.PortRange
	}{{"ports", a.Ports, &cfg.Ports}, {"sourcePorts", a.SourcePorts, &cfg.SourcePorts}, {"destinationPorts", a.DestinationPorts, &cfg.DestinationPorts}} {
		rs, err := ports(p.in)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
		}
		*p.out = rs
	}
	for _, c := range a.PeerCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("peer CIDR %q: %w", c, err))
			continue
		}
		cfg.PeerCIDRs = append(cfg.PeerCIDRs, p.Masked())
	}
	if a.Corrupt != nil {
		cc, err := corrupt(a.Corrupt)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.Corrupt = cc
	}
	errs = append(errs, networkRules(a)...)
	if len(errs) == 0 {
		// What the CRD lets through must also be a configuration the
		// injector can load; refuse here, with the reason, if not.
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return network.Config{}, fmt.Errorf("convert network action: %w", err)
	}
	return cfg, nil
}

// ports converts port ranges, refusing what the CRD would have refused
// (local mode reads manifests without an API server).
func ports(rs []chaosv1.PortRange) ([]network.PortRange, error) {
	var out []network.PortRange
	for _, r := range rs {
		to := r.From
		if r.To != nil {
			to = *r.To
		}
		if r.From < 1 || to > 65535 || to < r.From {
			return nil, fmt.Errorf("invalid port range %d-%d: ports are 1-65535, from <= to", r.From, to)
		}
		out = append(out, network.PortRange{From: uint16(r.From), To: uint16(to)})
	}
	return out, nil
}

func corrupt(c *chaosv1.CorruptSpec) (network.CorruptConfig, error) {
	cc := network.CorruptConfig{RepairChecksum: c.Checksum != chaosv1.ChecksumLeave}
	switch c.Field {
	case chaosv1.CorruptIPv4TotalLength:
		cc.Field = network.FieldIPv4TotalLength
	case chaosv1.CorruptUDPLength:
		cc.Field = network.FieldUDPLength
	case chaosv1.CorruptTCPDataOffset:
		cc.Field = network.FieldTCPDataOffset
	case chaosv1.CorruptPayload:
		cc.Field = network.FieldPayload
		cc.PayloadBytes = 1
		if c.Bytes != nil {
			cc.PayloadBytes = int(*c.Bytes)
		}
	default:
		return cc, fmt.Errorf("unknown corrupt field %q", c.Field)
	}
	if c.Delta != nil {
		d := *c.Delta
		cc.Delta = &d
	}
	if c.Value != nil {
		if *c.Value < 0 {
			return cc, fmt.Errorf("corrupt value %d is negative", *c.Value)
		}
		v := uint32(*c.Value)
		cc.Value = &v
	}
	return cc, nil
}

// ParseNetworkMethod reads the agent's --network-method flag: "auto" (or
// empty), "tcx" or "netlink-tc".
func ParseNetworkMethod(name string) (network.Method, error) {
	switch name {
	case "", "auto":
		return network.MethodAuto, nil
	case "tcx":
		return network.MethodTCX, nil
	case "netlink-tc":
		return network.MethodNetlinkTC, nil
	}
	return network.MethodAuto, fmt.Errorf("unknown network method %q: want auto, tcx or netlink-tc", name)
}
