package syscall

import (
	"fmt"
)

// resolvedScope is a Scope turned into target-map keys and the scope bits
// that tell programs which key kinds to look up.
type resolvedScope struct {
	keys  []targetKey
	bits  uint32
	paths []string // cgroup v2 directories, for the cgroup backend
	only  bool     // the scope is exactly paths
}

func resolveScope(s Scope) (resolvedScope, error) {
	rs := resolvedScope{paths: s.CgroupPaths, only: s.onlyCgroupPaths()}
	add := func(kind uint32, bit uint32, ids []uint64) {
		for _, id := range ids {
			rs.keys = append(rs.keys, targetKey{Kind: kind, Id: id})
			rs.bits |= bit
		}
	}
	add(kindNetNS, scopeNetNS, s.NetNSInodes)
	add(kindCgroup, scopeCgroup, s.CgroupIDs)
	add(kindMntNS, scopeMntNS, s.MntNSInodes)
	for _, p := range s.CgroupPaths {
		ids, err := cgroupSubtreeIDs(p)
		if err != nil {
			return resolvedScope{}, fmt.Errorf("resolve scope: %w", err)
		}
		add(kindCgroup, scopeCgroup, ids)
	}
	if len(rs.keys) > MaxTargets {
		return resolvedScope{}, fmt.Errorf("resolve scope: %d targets, more than %d", len(rs.keys), MaxTargets)
	}
	return rs, nil
}
