package syscall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// Attachment is one syscall fault attached to the kernel for one scope.
// The programs and maps are a shared load that every attachment of an equal
// fault uses (sharedLoad); the attachment owns its slot, its keys in the
// target map, its cgroup links when the cgroup backend is scoped by where
// it attaches, and its follower. Close releases them, and the last Close of
// a load unloads it. Nothing is pinned: if the process dies, the kernel
// detaches everything.
type Attachment struct {
	mu     sync.Mutex
	load   *sharedLoad // nil until acquired
	slot   uint32
	scope  resolvedScope
	links  []io.Closer // this attachment's own cgroup links, in creation order
	served []Served
	// follower keeps the target map in step with the cgroups below the
	// scope's CgroupPaths; nil without CgroupPaths.
	follower *subtreeFollower
	// followErr is why there is no follower despite CgroupPaths.
	followErr error
	closed    bool
}

// attachState is what the backend attach functions share while filling a
// shared load.
type attachState struct {
	ctx    context.Context
	cfg    Config
	errno  uint32
	scope  resolvedScope
	shared *sharedMaps
	ld     *sharedLoad
	// notes are the plan's notes by syscall.
	notes map[string]string
}

// own records c for release when the load closes.
func (st *attachState) own(c io.Closer) { st.ld.closers = append(st.ld.closers, c) }

// faultConfig builds a backend family's tb_sf_config.
func (st *attachState) faultConfig(scope, fileMask uint32, withPath bool) *config {
	c := &config{
		Err:         st.errno,
		Probability: st.cfg.ProbabilityBasisPoints,
		Scope:       scope,
		FileMask:    fileMask,
	}
	if withPath && st.cfg.PathPrefix != "" {
		c.PathLen = uint32(len(st.cfg.PathPrefix))
		for i := 0; i < len(st.cfg.PathPrefix); i++ {
			c.Path[i] = int8(st.cfg.PathPrefix[i])
		}
	}
	return c
}

// Attach makes cfg.Syscalls of the tasks in scope fail. It plans a backend
// for every syscall first and fails, naming each syscall and why, if any
// cannot be served; if attaching fails midway, everything already attached is
// released before returning. An equal fault already attached elsewhere in
// the process lends its loaded programs: this attach then only writes the
// scope's keys and, for the cgroup backend, links the programs to the
// scope's directories.
func Attach(ctx context.Context, scope Scope, cfg Config) (_ *Attachment, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if scope.empty() {
		return nil, errors.New("attach syscall fault: empty scope would match no task")
	}
	choices, err := Plan(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("attach syscall fault: %w", err)
	}
	rs, err := resolveScope(scope)
	if err != nil {
		return nil, fmt.Errorf("attach syscall fault: %w", err)
	}
	ld, slot, err := loads.acquire(ctx, loadKey(cfg, choices, rs), rs, func(ctx context.Context, ld *sharedLoad) error {
		return loadShared(ctx, ld, cfg, choices, rs)
	})
	if err != nil {
		return nil, fmt.Errorf("attach syscall fault: %w", err)
	}
	a := &Attachment{load: ld, slot: slot, scope: rs}
	defer func() {
		if err != nil {
			if cerr := a.Close(); cerr != nil {
				err = fmt.Errorf("%w (and unwinding: %v)", err, cerr)
			}
		}
	}()
	if err := ld.maps.addTargets(slot, rs.keys); err != nil {
		return nil, fmt.Errorf("attach syscall fault: %w", err)
	}
	a.served = slices.Clone(ld.served)
	if ld.perDir != nil {
		for _, dir := range rs.paths {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("attach syscall fault: %w", err)
			}
			links, err := ld.perDir.link(dir)
			a.links = append(a.links, links...)
			if err != nil {
				return nil, fmt.Errorf("attach syscall fault with %s: %w", Cgroup, err)
			}
		}
		a.served = append(a.served, ld.perDir.served(rs.paths)...)
	}
	if len(rs.paths) > 0 {
		// A restarted container gets a new cgroup below the scope's
		// directories: keep the target map in step with them.
		// Without inotify (a kernel built without CONFIG_INOTIFY_USER) the
		// fault still holds the cgroups of now; FollowErr says restarts are
		// not followed.
		if a.follower, err = followSubtrees(ctx, ld.maps.targets, rs.paths, slot); err != nil {
			a.followErr, err = err, nil
			logr.FromContextOrDiscard(ctx).Info("Restarted containers will not be followed", "error", a.followErr.Error())
		}
	}
	logr.FromContextOrDiscard(ctx).V(1).Info("Attached syscall fault", "served", a.Methods(), "errno", cfg.Errno, "slot", slot)
	return a, nil
}

// loadShared fills ld: the shared maps, then every backend's programs,
// loaded once for all the attachments that will use ld.
func loadShared(ctx context.Context, ld *sharedLoad, cfg Config, choices []Choice, rs resolvedScope) (err error) {
	defer func() {
		if err != nil {
			err = errors.Join(err, ld.close())
		}
	}()
	errno, _ := Errno(cfg.Errno)
	if ld.maps, err = newSharedMaps(); err != nil {
		return err
	}
	st := &attachState{ctx: ctx, cfg: cfg, errno: uint32(errno), scope: rs, shared: ld.maps, ld: ld, notes: map[string]string{}}
	for _, c := range choices {
		st.notes[c.Syscall] = c.Note
	}
	byBackend := map[Backend][]Syscall{}
	for _, c := range choices {
		byBackend[c.Backend] = append(byBackend[c.Backend], syscallTable[c.Syscall])
	}
	attachers := map[Backend]func(*attachState, []Syscall) error{
		KprobeOverride: attachKprobe,
		FmodRet:        attachFmodRet,
		LSM:            attachLSM,
		Cgroup:         attachCgroup,
	}
	for _, b := range preference {
		if len(byBackend[b]) == 0 {
			continue
		}
		if err := attachers[b](st, byBackend[b]); err != nil {
			return fmt.Errorf("with %s: %w", b, err)
		}
	}
	return nil
}

// String lists how each syscall is served, sorted, for logs.
func (a *Attachment) String() string { return strings.Join(a.Methods(), "; ") }

// Counters returns the calls matched and failed so far, over all CPUs and
// backends.
func (a *Attachment) Counters() (Counters, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.load == nil {
		return Counters{}, errors.New("read syscall fault counters: attachment closed")
	}
	return a.load.maps.counters(a.slot)
}

// FollowErr returns the last failure to keep the targets in step with new
// and removed cgroups below the scope's CgroupPaths, or nil. While it is set
// a restarted container may run unfaulted.
func (a *Attachment) FollowErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.follower == nil {
		return a.followErr
	}
	return a.follower.Err()
}

// Followed returns how many cgroups were added to and removed from the
// targets since attach, following changes below the scope's CgroupPaths.
func (a *Attachment) Followed() (added, removed uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.follower == nil {
		return 0, 0
	}
	return a.follower.added.Load(), a.follower.removed.Load()
}

// Close detaches this attachment's links, takes its keys out of the
// target map and gives its slot back; the last attachment of a load unloads
// the programs and maps. It is safe to call more than once.
func (a *Attachment) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	keys := slices.Clone(a.scope.keys)
	if a.follower != nil {
		errs = append(errs, a.follower.Close())
		keys = append(keys, a.follower.keys()...)
		a.follower = nil
	}
	for i := len(a.links) - 1; i >= 0; i-- {
		if err := a.links[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	a.links = nil
	if a.load != nil {
		errs = append(errs, a.load.maps.removeTargets(keys))
		errs = append(errs, loads.release(a.load, a.slot, a.scope))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close syscall fault: %w", err)
	}
	return nil
}
