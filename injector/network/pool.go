package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/temblor-dev/temblor/bpf"
)

// defaultSlotCapacity is how many targets one shared load serves: the
// max_entries of its tb_net_cnt. A full load is not grown; the next target
// with the same key gets a new load.
const defaultSlotCapacity = 256

// sharedPool holds the process's shared loads. Attach uses it; tests lower
// its capacity to see loads spill over.
var sharedPool = newPool(defaultSlotCapacity)

// poolKey is everything that makes one load of the main programs differ
// from another: two Configs with equal keys can share the programs and
// maps, and differ only in where they are attached and in their counters.
type poolKey struct {
	// cfg is entry 0 of tb_net_cfg.
	cfg bpf.NetfaultNetCfg
	// peers are the masked peer CIDRs, sorted, deduplicated and joined.
	peers string
	// programs are neededPrograms, joined.
	programs string
}

// keyOf returns the poolKey of a validated Config.
func keyOf(c Config) poolKey {
	peers := make([]string, 0, len(c.PeerCIDRs))
	for _, p := range c.PeerCIDRs {
		peers = append(peers, p.Masked().String())
	}
	slices.Sort(peers)
	return poolKey{
		cfg:      bpfConfig(c),
		peers:    strings.Join(slices.Compact(peers), ","),
		programs: strings.Join(neededPrograms(c), ","),
	}
}

// sharedLoad is one loaded copy of the main netfault programs, their maps
// and prog arrays, serving up to len(inUse) targets, one slot each. The
// pool's mutex guards inUse and refs; objs and err are written once, before
// ready is closed, and only read after.
type sharedLoad struct {
	key   poolKey
	ready chan struct{}
	objs  *bpf.NetfaultObjects
	err   error
	inUse []bool
	refs  int
}

// pool hands out slots of shared loads. Concurrent acquires with one key
// load once: the first creates the load and the others wait for it. The
// last release of a load unloads it; the pool keeps nothing idle.
type pool struct {
	mu       sync.Mutex
	capacity int // slots of loads created from now on
	loads    map[poolKey][]*sharedLoad
}

func newPool(capacity int) *pool {
	return &pool{capacity: capacity, loads: map[poolKey][]*sharedLoad{}}
}

// acquire returns a load for c with a slot reserved in it, and the slot,
// whose counters are zero. Release the slot with release.
func (p *pool) acquire(ctx context.Context, c Config) (*sharedLoad, uint32, error) {
	l, slot, created := p.reserve(keyOf(c))
	if created {
		l.objs, l.err = loadShared(c, len(l.inUse))
		if l.err != nil {
			p.forget(l) // later acquires start afresh; waiters see err
		}
		close(l.ready)
	} else {
		select {
		case <-l.ready:
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("wait for shared netfault load: %w", errors.Join(ctx.Err(), p.release(l, slot)))
		}
	}
	if l.err != nil {
		return nil, 0, errors.Join(l.err, p.release(l, slot))
	}
	if err := zeroCounters(l.objs, slot); err != nil {
		return nil, 0, errors.Join(err, p.release(l, slot))
	}
	return l, slot, nil
}

// zeroCounters resets slot's counters on every CPU. A slot is zeroed when it
// is handed out rather than when it is released: its previous owner's stubs
// are detached by then, so no packet can count into it any more.
func zeroCounters(objs *bpf.NetfaultObjects, slot uint32) error {
	n, err := possibleCPUs()
	if err != nil {
		return fmt.Errorf("zero counters of slot %d: %w", slot, err)
	}
	if err := objs.TbNetCnt.Put(slot, make([]bpf.NetfaultNetCnt, n)); err != nil {
		return fmt.Errorf("zero counters of slot %d: %w", slot, err)
	}
	return nil
}

// reserve finds a load for key with a free slot, or creates one (then
// created is true and the caller loads it), and reserves its lowest free
// slot.
func (p *pool) reserve(key poolKey) (l *sharedLoad, slot uint32, created bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.loads[key] {
		if i := slices.Index(l.inUse, false); i >= 0 {
			l.inUse[i] = true
			l.refs++
			return l, uint32(i), false
		}
	}
	l = &sharedLoad{key: key, ready: make(chan struct{}), inUse: make([]bool, p.capacity), refs: 1}
	l.inUse[0] = true
	p.loads[key] = append(p.loads[key], l)
	return l, 0, true
}

// forget removes l from the pool, so that no acquire finds it any more.
func (p *pool) forget(l *sharedLoad) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgetLocked(l)
}

func (p *pool) forgetLocked(l *sharedLoad) {
	loads := slices.DeleteFunc(p.loads[l.key], func(o *sharedLoad) bool { return o == l })
	if len(loads) == 0 {
		delete(p.loads, l.key)
	} else {
		p.loads[l.key] = loads
	}
}

// release frees slot of l; the last release unloads l.
func (p *pool) release(l *sharedLoad, slot uint32) error {
	p.mu.Lock()
	l.inUse[slot] = false
	l.refs--
	last := l.refs == 0
	if last {
		p.forgetLocked(l)
	}
	p.mu.Unlock()
	if !last || l.objs == nil {
		return nil
	}
	return unloadShared(l.objs)
}

// possibleCPUs is the number of per-CPU values of tb_net_cnt's entries.
var possibleCPUs = sync.OnceValues(ebpf.PossibleCPU)
