package syscall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// Attachment is one syscall fault attached to the kernel. It owns every
// program, map and link it created; Close releases them in reverse order.
// Nothing is pinned: if the process dies, the kernel detaches everything.
type Attachment struct {
	mu       sync.Mutex
	closers  []io.Closer // in creation order
	served   []Served
	shared   *sharedMaps
	follower *subtreeFollower // nil without CgroupPaths
	// followErr is why there is no follower despite CgroupPaths.
	followErr error
	closed    bool
}

// attachState is what the backend attach functions share while building an
// Attachment.
type attachState struct {
	ctx    context.Context
	cfg    Config
	errno  uint32
	scope  resolvedScope
	shared *sharedMaps
	a      *Attachment
	// notes are the plan's notes by syscall.
	notes map[string]string
}

// own records c for release by Close.
func (st *attachState) own(c io.Closer) { st.a.closers = append(st.a.closers, c) }

// faultConfig builds a backend family's tb_sf_config.
func (st *attachState) faultConfig(scope, fileMask uint32, withPath bool) *config {
	c := &config{
		Err:      st.errno,
		ProbBp:   st.cfg.ProbabilityBasisPoints,
		Scope:    scope,
		FileMask: fileMask,
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
// released before returning.
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
	errno, _ := Errno(cfg.Errno)

	a := &Attachment{}
	defer func() {
		if err != nil {
			if cerr := a.Close(); cerr != nil {
				err = fmt.Errorf("%w (and unwinding: %v)", err, cerr)
			}
		}
	}()
	a.shared, err = newSharedMaps(rs.keys)
	if err != nil {
		return nil, fmt.Errorf("attach syscall fault: %w", err)
	}
	st := &attachState{ctx: ctx, cfg: cfg, errno: uint32(errno), scope: rs, shared: a.shared, a: a, notes: map[string]string{}}
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
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("attach syscall fault: %w", err)
		}
		if err := attachers[b](st, byBackend[b]); err != nil {
			return nil, fmt.Errorf("attach syscall fault with %s: %w", b, err)
		}
	}
	if len(rs.paths) > 0 {
		// A restarted container gets a new cgroup below the scope's
		// directories: keep the target map in step with them.
		// Without inotify (a kernel built without CONFIG_INOTIFY_USER) the
		// fault still holds the cgroups of now; FollowErr says restarts are
		// not followed.
		if a.follower, err = followSubtrees(ctx, a.shared.targets, rs.paths); err != nil {
			a.followErr, err = err, nil
			logr.FromContextOrDiscard(ctx).Info("Restarted containers will not be followed", "error", a.followErr.Error())
		}
	}
	logr.FromContextOrDiscard(ctx).V(1).Info("Attached syscall fault", "served", a.Methods(), "errno", cfg.Errno)
	return a, nil
}

// String lists how each syscall is served, sorted, for logs.
func (a *Attachment) String() string { return strings.Join(a.Methods(), "; ") }

// Counters returns the calls matched and failed so far, over all CPUs and
// backends.
func (a *Attachment) Counters() (Counters, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.shared == nil {
		return Counters{}, errors.New("read syscall fault counters: attachment closed")
	}
	return a.shared.counters()
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

// Close detaches and unloads everything, links first, in reverse order of
// creation. It is safe to call more than once.
func (a *Attachment) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	if a.follower != nil {
		errs = append(errs, a.follower.Close())
		a.follower = nil
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	a.closers = nil
	if a.shared != nil {
		errs = append(errs, a.shared.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close syscall fault: %w", err)
	}
	return nil
}
