package network

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	"github.com/vishvananda/netlink"

	"github.com/temblor-dev/temblor/bpf"
	"github.com/temblor-dev/temblor/injector/netns"
)

// Attachment is one Config attached in one network namespace (a target).
// The main programs and maps are shared with every other target whose
// Config loads the same (see pool.go); the Attachment owns a slot in that
// shared load (its counters), its stub programs, every link and every
// legacy filter. Close removes them in reverse order.
type Attachment struct {
	mu     sync.Mutex
	closed bool
	pool   *pool
	load   *sharedLoad
	slot   uint32
	stubs  stubs
	nl     *netlink.Handle // bound to the target namespace
	hooks  []hook
}

// Counters are packet counts summed over CPUs since Attach.
type Counters struct {
	// Seen counts packets that reached a Temblor program.
	Seen uint64
	// Matched counts packets that matched the filters.
	Matched uint64
	// Dropped counts packets dropped.
	Dropped uint64
	// Corrupted counts packets changed.
	Corrupted uint64
}

// Attach attaches the netfault programs configured by cfg to the interfaces
// of the network namespace at nsPath. The programs are loaded once for all
// targets with an equal configuration; each target loads and attaches only
// stubs that tail-call them. On any error, whatever was attached is removed
// again before returning.
func Attach(ctx context.Context, nsPath string, cfg Config) (*Attachment, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid network fault: %w", err)
	}
	load, slot, err := sharedPool.acquire(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a := &Attachment{pool: sharedPool, load: load, slot: slot}
	err = netns.Do(nsPath, func() error { return a.attachAll(ctx, cfg) })
	if err != nil {
		return nil, errors.Join(fmt.Errorf("attach network fault in %s: %w", nsPath, err), a.Close())
	}
	logr.FromContextOrDiscard(ctx).Info("Attached network fault", "netns", nsPath, "hooks", a.Describe(), "slot", slot)
	return a, nil
}

// attachAll runs inside the target namespace.
func (a *Attachment) attachAll(ctx context.Context, cfg Config) error {
	nl, err := netlink.NewHandle(netlinkRoute)
	if err != nil {
		return fmt.Errorf("open netlink: %w", err)
	}
	a.nl = nl
	links, err := targetLinks(nl, cfg.Interface)
	if err != nil {
		return err
	}
	useTCX, err := chooseTCX(ctx, cfg.Method)
	if err != nil {
		return err
	}
	for _, l := range links {
		for _, dir := range []Direction{Ingress, Egress} {
			if cfg.Direction&dir == 0 {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			h, err := a.attachOne(ctx, cfg, l, dir, useTCX)
			if err != nil {
				return err
			}
			a.hooks = append(a.hooks, h)
		}
	}
	return nil
}

// attachOne attaches the program for one interface and direction.
func (a *Attachment) attachOne(ctx context.Context, cfg Config, l netlink.Link, dir Direction, useTCX bool) (hook, error) {
	log := logr.FromContextOrDiscard(ctx)
	name, index := l.Attrs().Name, l.Attrs().Index
	if dir == Ingress && cfg.Action == ActionDrop && cfg.XDP != XDPDisabled {
		prog, err := a.stubs.xdpIngress(a.load, a.slot)
		if err != nil {
			return nil, err
		}
		h, err := attachXDP(name, index, cfg.XDP, prog)
		if err == nil || cfg.XDP != XDPAuto {
			return h, err
		}
		log.Info("XDP unavailable, dropping at tc ingress instead", "interface", name, "error", err.Error())
	}
	prog, progName, err := a.stubs.tc(a.load, a.slot, dir)
	if err != nil {
		return nil, err
	}
	if useTCX {
		h, err := attachTCX(name, index, dir, prog)
		if err == nil || cfg.Method == MethodTCX || !tcxUnsupported(err) {
			return h, err
		}
		log.Info("tcx unsupported, using netlink tc", "interface", name, "error", err.Error())
	}
	return attachLegacyTC(a.nl, l, dir, prog, progName)
}

// chooseTCX decides between tcx and netlink tc for method.
func chooseTCX(ctx context.Context, method Method) (bool, error) {
	switch method {
	case MethodNetlinkTC:
		return false, nil
	case MethodTCX:
		if err := haveTCX(); tcxUnsupported(err) {
			return false, fmt.Errorf("tcx forced but unsupported: %w", err)
		}
		return true, nil
	}
	err := haveTCX()
	if err != nil && !tcxUnsupported(err) {
		// Inconclusive: try tcx and fall back per interface.
		logr.FromContextOrDiscard(ctx).Info("tcx probe inconclusive", "error", err.Error())
	}
	return !tcxUnsupported(err), nil
}

// Describe lists how each program is attached, e.g. "eth0 egress tcx" or
// "eth0 ingress xdp-native", in attach order.
func (a *Attachment) Describe() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.hooks))
	for _, h := range a.hooks {
		out = append(out, h.String())
	}
	return out
}

// Methods is Describe, under the name the node agent reports in status.
func (a *Attachment) Methods() []string { return a.Describe() }

// Counters returns this target's packet counters summed over CPUs.
func (a *Attachment) Counters() (Counters, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return Counters{}, errors.New("read counters: attachment closed")
	}
	var per []bpf.NetfaultNetCnt
	if err := a.load.objs.TbNetCnt.Lookup(a.slot, &per); err != nil {
		return Counters{}, fmt.Errorf("read counters of slot %d: %w", a.slot, err)
	}
	var c Counters
	for _, p := range per {
		c.Seen += p.Seen
		c.Matched += p.Matched
		c.Dropped += p.Dropped
		c.Corrupted += p.Corrupted
	}
	return c, nil
}

// Close detaches everything in reverse order, unloads the stubs and releases
// the slot; the last Attachment of a shared load unloads the main programs.
// It tries every step and returns all errors; calling it again does nothing.
func (a *Attachment) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	for i := len(a.hooks) - 1; i >= 0; i-- {
		if err := a.hooks[i].detach(); err != nil {
			errs = append(errs, fmt.Errorf("detach %s: %w", a.hooks[i], err))
		}
	}
	a.hooks = nil
	if a.nl != nil {
		a.nl.Close()
	}
	if err := a.stubs.close(); err != nil {
		errs = append(errs, err)
	}
	if err := a.pool.release(a.load, a.slot); err != nil {
		errs = append(errs, fmt.Errorf("release slot %d: %w", a.slot, err))
	}
	return errors.Join(errs...)
}
