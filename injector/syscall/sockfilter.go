package syscall

import (
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

// Socket filters: Config.Ports and Config.PeerCIDRs narrow connect, bind,
// sendto and sendmsg to calls whose address matches. Every backend compares
// the same tb_sf_config fields and tb_sf_peers trie (bpf/include/sysfault.h),
// and only after the target check, so untargeted tasks do not pay for them:
// the cgroup hooks read the sock_addr context, kprobe and fmod_ret the user
// sockaddr of the syscall's arguments, LSM the kernel's copy of it.

// configMap creates a backend family's tb_sf_config holding c completed
// with the socket filters of the fault, and writes the peer CIDRs into the
// shared trie the first time.
func (st *attachState) configMap(spec *ebpf.CollectionSpec, c *config) (*ebpf.Map, error) {
	if err := st.shared.setPeers(st.cfg.PeerCIDRs); err != nil {
		return nil, err
	}
	withSockFilter(c, st.cfg)
	return newConfigMap(spec, c)
}

// withSockFilter sets the socket filter fields of c from cfg.
func withSockFilter(c *config, cfg Config) {
	c.SockFilter, c.Nports = 0, 0
	if len(cfg.Ports) > 0 {
		c.SockFilter |= filterPorts
		for i, r := range cfg.Ports {
			if i >= len(c.Ports) {
				break // validate refuses more
			}
			c.Ports[i].From, c.Ports[i].To = r.From, r.To
			c.Nports++
		}
	}
	if len(cfg.PeerCIDRs) > 0 {
		c.SockFilter |= filterPeers
	}
}

// peerKeyOf is the trie key of p: the family is matched as a 32-bit prefix
// before the address bits.
func peerKeyOf(p netip.Prefix) peerKey {
	k := peerKey{Prefixlen: 32 + uint32(p.Bits()), Family: afInet6}
	if p.Addr().Is4() {
		k.Family = afInet
		a := p.Addr().As4()
		copy(k.Addr[:], a[:])
	} else {
		a := p.Addr().As16()
		copy(k.Addr[:], a[:])
	}
	return k
}

// setPeers writes the peer prefixes into tb_sf_peers, once per attachment.
func (s *sharedMaps) setPeers(peers []netip.Prefix) error {
	if s.peersWritten {
		return nil
	}
	present := uint8(1)
	for _, p := range peers {
		if err := s.peers.Put(peerKeyOf(p), present); err != nil {
			return fmt.Errorf("add peer CIDR %v: %w", p, err)
		}
	}
	s.peersWritten = true
	return nil
}
