package syscall

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/temblor-dev/temblor/bpf"
)

// Mirrors of the constants in bpf/include/sysfault.h.
const (
	kindNetNS  = 1
	kindCgroup = 2
	kindMntNS  = 3

	scopeNetNS  = 1 << 0
	scopeCgroup = 1 << 1
	scopeMntNS  = 1 << 2
	scopeAll    = 1 << 3

	statMatched = 0
	statFailed  = 1
	statMax     = 2

	filterPorts = 1 << 0
	filterPeers = 1 << 1

	afInet  = 2
	afInet6 = 10
)

// config is the value of tb_sf_config; the generated layouts of all
// objects are identical.
type config = bpf.SysfaultCgroupTbSfConfig

// targetKey is the key of tb_sf_targets.
type targetKey = bpf.SysfaultCgroupTbSfKey

// peerKey is the key of tb_sf_peers.
type peerKey = bpf.SysfaultCgroupTbSfPeerKey

// sharedMaps are the maps every program of one shared load uses, so that
// targets are written once and counters add up across backends. Each backend
// family has its own tb_sf_config.
type sharedMaps struct {
	targets *ebpf.Map
	stats   *ebpf.Map
	scratch *ebpf.Map
	// peers holds the peer CIDRs of the socket filters, written by
	// setPeers before the first program loads.
	peers        *ebpf.Map
	peersWritten bool
}

// cgroupSpec parses the cgroup object once; callers copy what they change.
var cgroupSpec = sync.OnceValues(bpf.LoadSysfaultCgroup)

// newSharedMaps creates the shared maps from the map specs of the cgroup
// object (all objects declare them identically).
func newSharedMaps() (_ *sharedMaps, err error) {
	spec, err := cgroupSpec()
	if err != nil {
		return nil, fmt.Errorf("load cgroup object spec: %w", err)
	}
	s := &sharedMaps{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.targets, err = newMap(spec, bpf.SysfaultCgroupMapTbSfTargets); err != nil {
		return nil, err
	}
	if s.stats, err = newMap(spec, bpf.SysfaultCgroupMapTbSfStats); err != nil {
		return nil, err
	}
	if s.scratch, err = newMap(spec, bpf.SysfaultCgroupMapTbSfScratch); err != nil {
		return nil, err
	}
	if s.peers, err = newMap(spec, bpf.SysfaultCgroupMapTbSfPeers); err != nil {
		return nil, err
	}
	return s, nil
}

// addTargets zeroes slot's counters and makes keys targets counted in it.
func (s *sharedMaps) addTargets(slot uint32, keys []targetKey) error {
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return fmt.Errorf("count possible CPUs: %w", err)
	}
	zero := make([]uint64, ncpu)
	for _, stat := range []uint32{statMatched, statFailed} {
		if err := s.stats.Put(statIndex(slot, stat), zero); err != nil {
			return fmt.Errorf("zero counters of slot %d: %w", slot, err)
		}
	}
	for _, k := range keys {
		if err := s.targets.Put(k, slot); err != nil {
			return fmt.Errorf("add target kind %d id %d: %w", k.Kind, k.Id, err)
		}
	}
	return nil
}

// removeTargets deletes keys from the target map; keys already gone are
// fine.
func (s *sharedMaps) removeTargets(keys []targetKey) error {
	var errs []error
	for _, k := range keys {
		if err := s.targets.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("remove target kind %d id %d: %w", k.Kind, k.Id, err))
		}
	}
	return errors.Join(errs...)
}

// statIndex is the index of a slot's counter in tb_sf_stats.
func statIndex(slot, stat uint32) uint32 { return slot*statMax + stat }

func newMap(spec *ebpf.CollectionSpec, name string) (*ebpf.Map, error) {
	ms, ok := spec.Maps[name]
	if !ok {
		return nil, fmt.Errorf("map %s missing from object", name)
	}
	m, err := ebpf.NewMap(ms.Copy())
	if err != nil {
		return nil, fmt.Errorf("create map %s: %w", name, err)
	}
	return m, nil
}

// replacements returns the MapReplacements that make a collection use the
// shared maps, plus its own config map.
func (s *sharedMaps) replacements(cfg *ebpf.Map) map[string]*ebpf.Map {
	return map[string]*ebpf.Map{
		bpf.SysfaultCgroupMapTbSfTargets: s.targets,
		bpf.SysfaultCgroupMapTbSfStats:   s.stats,
		bpf.SysfaultCgroupMapTbSfScratch: s.scratch,
		bpf.SysfaultCgroupMapTbSfPeers:   s.peers,
		bpf.SysfaultCgroupMapTbSfConfig:  cfg,
	}
}

// newConfigMap creates a backend family's tb_sf_config holding c.
func newConfigMap(spec *ebpf.CollectionSpec, c *config) (*ebpf.Map, error) {
	m, err := newMap(spec, bpf.SysfaultCgroupMapTbSfConfig)
	if err != nil {
		return nil, err
	}
	if err := m.Put(uint32(0), c); err != nil {
		m.Close()
		return nil, fmt.Errorf("write fault config: %w", err)
	}
	return m, nil
}

// counters sums slot's per-CPU counters.
func (s *sharedMaps) counters(slot uint32) (Counters, error) {
	var c Counters
	for stat, dst := range map[uint32]*uint64{statMatched: &c.Matched, statFailed: &c.Failed} {
		var perCPU []uint64
		idx := statIndex(slot, stat)
		if err := s.stats.Lookup(idx, &perCPU); err != nil {
			return Counters{}, fmt.Errorf("read counter %d: %w", idx, err)
		}
		for _, v := range perCPU {
			*dst += v
		}
	}
	return c, nil
}

// Close releases the maps; programs holding them keep them alive.
func (s *sharedMaps) Close() error {
	var errs []error
	for _, m := range []*ebpf.Map{s.peers, s.scratch, s.stats, s.targets} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// Counters are the totals of one attachment, over all CPUs and backends,
// since it attached.
type Counters struct {
	// Matched counts calls by target tasks that reached a fault program and
	// passed its filters, failed or not. A call that a signal interrupts and
	// the kernel restarts (SA_RESTART) reaches an LSM hook again and counts
	// once per attempt; a failed attempt is not restarted.
	Matched uint64
	// Failed counts the calls that were made to fail.
	Failed uint64
}
