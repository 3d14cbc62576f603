package syscall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Slots of one shared load: tb_sf_stats holds TB_SF_SLOTS of them (mirrored
// here); slot 0 counts the calls of tasks the attach point alone scoped
// whose cgroup no key names, so attachments get 1..loadSlots-1.
const loadSlots = 256

// sharedLoad is one loaded copy of a fault's programs and maps. Every
// attachment of an equal fault (same Config, same plan, same kind of scope)
// whose targets overlap no other attachment's uses it: the verifier runs
// once, not once per target. Each attachment owns a slot, the value of its
// keys in tb_sf_targets and its counters' index in tb_sf_stats. The kprobe,
// fmod_ret and LSM links, and a cgroup backend linked at the cgroup root,
// serve every attachment at once; a cgroup backend scoped by where it
// attaches is linked to each attachment's own directories (perDir).
type sharedLoad struct {
	key  string
	maps *sharedMaps
	// closers are the config maps, collections and shared links, in
	// creation order.
	closers []io.Closer
	// served are the syscalls served by the shared links.
	served []Served
	// perDir, when not nil, is the cgroup backend's collection, linked to
	// each attachment's cgroup directories.
	perDir *cgroupLinks

	// The rest is guarded by the pool's mutex.
	ready chan struct{} // closed once loaded; err tells how it went
	err   error
	refs  int
	free  []uint32             // slots not in use, the next one last
	paths []string             // cgroup directories of the attachments
	keys  map[targetKey]uint32 // keys of the attachments → their slots
}

// loadPool holds the shared loads of the process by key; several loads of
// one key exist when attachments overlap or one load's slots run out.
type loadPool struct {
	mu    sync.Mutex
	byKey map[string][]*sharedLoad
}

// loads is the process's pool: attachments of equal faults share loads
// whoever attaches them (the agent, local mode, tests).
var loads = &loadPool{byKey: map[string][]*sharedLoad{}}

// loadKey is what decides the programs and maps of a load: the fault, how
// each syscall is served, and which kinds of key the scope has.
func loadKey(cfg Config, choices []Choice, rs resolvedScope) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q|%q|%d|%q|%v|%v|%q|bits=%d|only=%t", cfg.Syscalls, cfg.Errno, cfg.ProbabilityBasisPoints,
		cfg.PathPrefix, cfg.Ports, cfg.PeerCIDRs, cfg.Backend, rs.bits, rs.only)
	for _, c := range choices {
		fmt.Fprintf(&b, "|%s=%s@%s", c.Syscall, c.Backend, c.Hook)
	}
	return b.String()
}

// fits reports whether an attachment of scope rs can join ld: a free slot,
// room in tb_sf_targets, and no key or cgroup directory shared with an
// attachment already there (a key holds one slot, and a directory's
// follower would claim its nested ones).
func (ld *sharedLoad) fits(rs resolvedScope) bool {
	if len(ld.free) == 0 || len(ld.keys)+len(rs.keys) > MaxTargets {
		return false
	}
	for _, k := range rs.keys {
		if _, taken := ld.keys[k]; taken {
			return false
		}
	}
	for _, p := range rs.paths {
		for _, q := range ld.paths {
			if nested(p, q) {
				return false
			}
		}
	}
	return true
}

// nested reports whether directory a is b or one is below the other.
func nested(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	return a == b || isBelow(a, b) || isBelow(b, a)
}

// reserve takes a slot and records rs's keys and paths; the pool's mutex
// is held.
func (ld *sharedLoad) reserve(rs resolvedScope) uint32 {
	slot := ld.free[len(ld.free)-1] // the last freed: its counters are in cache
	ld.free = ld.free[:len(ld.free)-1]
	for _, k := range rs.keys {
		ld.keys[k] = slot
	}
	ld.paths = append(ld.paths, rs.paths...)
	ld.refs++
	return slot
}

// acquire returns a load for key that rs fits in, and a slot in it. When
// none exists it makes one and runs load to fill it, once: concurrent
// attachments of the same key wait for it instead of loading their own.
// load runs to the end even if ctx is cancelled, since other attachments
// may be waiting for it.
func (p *loadPool) acquire(ctx context.Context, key string, rs resolvedScope, load func(context.Context, *sharedLoad) error) (*sharedLoad, uint32, error) {
	p.mu.Lock()
	var ld *sharedLoad
	for _, c := range p.byKey[key] {
		if c.fits(rs) {
			ld = c
			break
		}
	}
	if ld != nil {
		slot := ld.reserve(rs)
		p.mu.Unlock()
		select {
		case <-ld.ready:
		case <-ctx.Done():
			p.release(ld, slot, rs)
			return nil, 0, fmt.Errorf("wait for the shared load: %w", ctx.Err())
		}
		if ld.err != nil {
			p.release(ld, slot, rs)
			return nil, 0, ld.err
		}
		return ld, slot, nil
	}
	ld = &sharedLoad{key: key, ready: make(chan struct{}), keys: map[targetKey]uint32{}}
	for s := uint32(loadSlots - 1); s >= 1; s-- {
		ld.free = append(ld.free, s)
	}
	if !ld.fits(rs) {
		p.mu.Unlock()
		return nil, 0, fmt.Errorf("scope of %d keys does not fit in one load of %d", len(rs.keys), MaxTargets)
	}
	slot := ld.reserve(rs)
	p.byKey[key] = append(p.byKey[key], ld)
	p.mu.Unlock()

	err := load(context.WithoutCancel(ctx), ld)
	p.mu.Lock()
	ld.err = err
	close(ld.ready)
	p.mu.Unlock()
	if err != nil {
		p.release(ld, slot, rs)
		return nil, 0, err
	}
	return ld, slot, nil
}

// release gives slot and rs's keys and paths back; the last release of a
// load closes it, so nothing outlives the last attachment.
func (p *loadPool) release(ld *sharedLoad, slot uint32, rs resolvedScope) error {
	p.mu.Lock()
	for _, k := range rs.keys {
		if ld.keys[k] == slot {
			delete(ld.keys, k)
		}
	}
	for _, path := range rs.paths {
		if i := slices.Index(ld.paths, path); i >= 0 {
			ld.paths = slices.Delete(ld.paths, i, i+1)
		}
	}
	ld.free = append(ld.free, slot)
	ld.refs--
	last := ld.refs == 0
	if last {
		p.byKey[ld.key] = slices.DeleteFunc(p.byKey[ld.key], func(c *sharedLoad) bool { return c == ld })
		if len(p.byKey[ld.key]) == 0 {
			delete(p.byKey, ld.key)
		}
	}
	p.mu.Unlock()
	if !last {
		return nil
	}
	return ld.close()
}

// close detaches and unloads everything of the load, links first.
func (ld *sharedLoad) close() error {
	var errs []error
	for i := len(ld.closers) - 1; i >= 0; i-- {
		if err := ld.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	ld.closers = nil
	if ld.perDir != nil {
		ld.perDir.coll.Close()
	}
	if ld.maps != nil {
		errs = append(errs, ld.maps.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unload shared syscall fault: %w", err)
	}
	return nil
}

// loadsInUse returns the number of shared loads of the pool and of
// attachments using them, for tests.
func (p *loadPool) loadsInUse() (nLoads, nRefs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, lds := range p.byKey {
		for _, ld := range lds {
			nLoads++
			nRefs += ld.refs
		}
	}
	return nLoads, nRefs
}
