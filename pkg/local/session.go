package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/convert"
	"github.com/temblor-dev/temblor/injector/netns"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// HostAddrEnv is the environment variable through which a command under a
// network fault in a fresh namespace learns the host end's address.
const HostAddrEnv = "TEMBLOR_HOST_ADDR"

// Options tune a Session.
type Options struct {
	// NetNS is an existing network namespace (e.g. /run/netns/NAME or
	// /proc/PID/ns/net) for a network fault; empty creates a fresh one.
	NetNS string
	// SyscallBackend forces a syscall backend; Auto lets the injector choose.
	SyscallBackend sysfault.Backend
	// Warn receives notices such as an ignored selector; nil discards them.
	Warn io.Writer
}

// Session is one Fault attached locally: the environment it runs in (a
// cgroup or a network namespace) and the attachment. Start commands in it,
// Detach ends the fault early, Close removes everything.
type Session struct {
	fault *chaosv1.Fault
	cg    *cgroupDir
	env   *netEnv
	ns    string // network namespace path of a network fault

	mu         sync.Mutex
	netAtt     *network.Attachment
	sysAtt     *sysfault.Attachment
	methods    []string
	last       chaosv1.Counters
	attachedAt time.Time
	detachedAt time.Time
}

// New prepares the environment of fault and attaches the fault to it. The
// fault is active as soon as New returns; Close the Session in every case.
func New(ctx context.Context, fault *chaosv1.Fault, opts Options) (_ *Session, err error) {
	if fault == nil || (fault.Spec.Network == nil) == (fault.Spec.Syscall == nil) {
		return nil, errors.New("local fault: exactly one action must be set: network or syscall")
	}
	if opts.Warn != nil && HasSelector(fault) {
		fmt.Fprintln(opts.Warn, "temblor: the Fault's selector is ignored in local mode: the fault applies to the command")
	}
	s := &Session{fault: fault}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	if fault.Spec.Syscall != nil {
		if opts.NetNS != "" {
			return nil, errors.New("local fault: --netns applies to network faults only")
		}
		return s, s.attachSyscall(ctx, opts.SyscallBackend)
	}
	return s, s.attachNetwork(ctx, opts.NetNS)
}

func (s *Session) attachSyscall(ctx context.Context, backend sysfault.Backend) error {
	cfg, err := convert.Syscall(s.fault.Spec.Syscall, backend)
	if err != nil {
		return fmt.Errorf("local fault: %w", err)
	}
	if s.cg, err = newCgroup(); err != nil {
		return fmt.Errorf("local fault: %w", err)
	}
	att, err := sysfault.Attach(ctx, sysfault.Scope{CgroupPaths: []string{s.cg.path}}, cfg)
	if err != nil {
		return fmt.Errorf("local fault: attach syscall fault: %w", err)
	}
	s.sysAtt = att
	backends := att.Backends()
	for _, name := range slices.Sorted(maps.Keys(backends)) {
		s.methods = append(s.methods, name+" "+backends[name])
	}
	s.attachedAt = time.Now()
	return nil
}

func (s *Session) attachNetwork(ctx context.Context, nsPath string) error {
	cfg, err := convert.Network(s.fault.Spec.Network)
	if err != nil {
		return fmt.Errorf("local fault: %w", err)
	}
	if nsPath == "" {
		if s.env, err = newNetEnv(); err != nil {
			return fmt.Errorf("local fault: %w", err)
		}
		nsPath = s.env.path
	}
	s.ns = nsPath
	att, err := network.Attach(ctx, nsPath, cfg)
	if err != nil {
		return fmt.Errorf("local fault: attach network fault in %s: %w", nsPath, err)
	}
	s.netAtt = att
	s.methods = att.Describe()
	s.attachedAt = time.Now()
	return nil
}

// HostAddr is the host end's address of a fresh namespace ("" otherwise).
func (s *Session) HostAddr() string {
	if s.env == nil {
		return ""
	}
	return s.env.hostAddr.String()
}

// NetNSPath is the network namespace of a network fault ("" otherwise).
func (s *Session) NetNSPath() string { return s.ns }

// CgroupPath is the cgroup directory of a syscall fault ("" otherwise).
func (s *Session) CgroupPath() string {
	if s.cg == nil {
		return ""
	}
	return s.cg.path
}

// Start starts cmd inside the fault's environment: in the cgroup from its
// first instruction, or in the network namespace (forked from a thread that
// joined it). For a fresh namespace, HostAddrEnv is added to cmd's
// environment.
func (s *Session) Start(cmd *exec.Cmd) error {
	switch {
	case s.cg != nil:
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = s.cg.fd
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s in cgroup %s: %w", cmd.Path, s.cg.path, err)
		}
		return nil
	case s.ns != "":
		if s.env != nil {
			if cmd.Env == nil {
				cmd.Env = cmd.Environ()
			}
			cmd.Env = append(cmd.Env, HostAddrEnv+"="+s.HostAddr())
		}
		// The child is forked from the locked thread and so inherits its
		// network namespace.
		if err := netns.Do(s.ns, cmd.Start); err != nil {
			return fmt.Errorf("start %s in netns %s: %w", cmd.Path, s.ns, err)
		}
		return nil
	}
	return errors.New("start command: session is closed")
}

// Do runs fn inside the fault's environment, in this process: for a network
// fault on a thread that joined the namespace (sockets fn opens on its own
// goroutine live there; goroutines it starts do not), for a syscall fault with
// the whole process moved into the cgroup until fn returns.
func (s *Session) Do(fn func() error) error {
	switch {
	case s.cg != nil:
		restore, err := s.cg.enterSelf()
		if err != nil {
			return err
		}
		fnErr := fn()
		return errors.Join(fnErr, restore())
	case s.ns != "":
		return netns.Do(s.ns, fn)
	}
	return errors.New("run in fault: session is closed")
}

// Methods lists how the fault is attached: syscall backends as
// "connect cgroup:connect4,connect6@/sys/fs/cgroup/...", network hooks as
// "eth0 egress tcx".
func (s *Session) Methods() []string { return slices.Clone(s.methods) }

// Counters reads the kernel counters; after Detach it returns the last ones.
func (s *Session) Counters() (chaosv1.Counters, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readLocked()
}

func (s *Session) readLocked() (chaosv1.Counters, error) {
	switch {
	case s.netAtt != nil:
		c, err := s.netAtt.Counters()
		if err != nil {
			return s.last, fmt.Errorf("read packet counters: %w", err)
		}
		s.last = chaosv1.Counters{PacketsMatched: int64(c.Matched), PacketsDropped: int64(c.Dropped), PacketsCorrupted: int64(c.Corrupted)}
	case s.sysAtt != nil:
		c, err := s.sysAtt.Counters()
		if err != nil {
			return s.last, fmt.Errorf("read syscall counters: %w", err)
		}
		s.last = chaosv1.Counters{SyscallsMatched: int64(c.Matched), SyscallsFailed: int64(c.Failed)}
	}
	return s.last, nil
}

// Detach removes the fault, keeping the environment: commands started in it
// go on un-faulted. It reads the counters one last time; calling it again
// does nothing.
func (s *Session) Detach() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.netAtt == nil && s.sysAtt == nil {
		return nil
	}
	_, readErr := s.readLocked()
	var errs []error
	if s.netAtt != nil {
		errs = append(errs, s.netAtt.Close())
		s.netAtt = nil
	}
	if s.sysAtt != nil {
		errs = append(errs, s.sysAtt.Close())
		s.sysAtt = nil
	}
	s.detachedAt = time.Now()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach fault: %w", err)
	}
	return readErr
}

// Attached is how long the fault was (or has been) attached.
func (s *Session) Attached() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attachedAt.IsZero() {
		return 0
	}
	if s.detachedAt.IsZero() {
		return time.Since(s.attachedAt)
	}
	return s.detachedAt.Sub(s.attachedAt)
}

// Close detaches the fault and removes the environment: the cgroup (ending
// processes left in it), the veth pair and the namespace. Call it once the
// commands started in the session have exited.
func (s *Session) Close() error {
	errs := []error{s.Detach()}
	if s.cg != nil {
		errs = append(errs, s.cg.remove())
		s.cg = nil
	}
	if s.env != nil {
		errs = append(errs, s.env.remove())
		s.env = nil
	}
	s.ns = ""
	return errors.Join(errs...)
}
