package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/attach"
	"github.com/temblor-dev/temblor/injector/netns"
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
	att        attach.Attachment // nil once detached
	methods    []string
	last       chaosv1.Counters
	attachedAt time.Time
	detachedAt time.Time
}

// New prepares the environment of fault and attaches the fault to it. The
// fault is active as soon as New returns; Close the Session in every case.
func New(ctx context.Context, fault *chaosv1.Fault, opts Options) (_ *Session, err error) {
	if fault == nil {
		return nil, errors.New("local fault: no fault")
	}
	// Convert (and validate) before preparing any environment.
	act, err := attach.Convert(fault.Spec.FaultAction, attach.Options{SyscallBackend: opts.SyscallBackend})
	if err != nil {
		return nil, fmt.Errorf("local fault: %w", err)
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
	var t attach.Target
	if act.Syscall != nil {
		if opts.NetNS != "" {
			return nil, errors.New("local fault: --netns applies to network faults only")
		}
		if s.cg, err = newCgroup(); err != nil {
			return nil, fmt.Errorf("local fault: %w", err)
		}
		t.Scope = sysfault.Scope{CgroupPaths: []string{s.cg.path}}
	} else {
		s.ns = opts.NetNS
		if s.ns == "" {
			if s.env, err = newNetEnv(); err != nil {
				return nil, fmt.Errorf("local fault: %w", err)
			}
			s.ns = s.env.path
		}
		t.NetNSPath = s.ns
	}
	if s.att, err = attach.Attach(ctx, act, t); err != nil {
		return nil, fmt.Errorf("local fault: attach %s fault: %w", act.Kind(), err)
	}
	s.methods = s.att.Methods()
	s.attachedAt = time.Now()
	return s, nil
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

// Methods lists how the fault is attached, the same text as the node agent's
// status: syscalls as "connect cgroup connect4,connect6 (only AF_INET and
// AF_INET6 sockets)", network hooks as "eth0 egress tcx".
func (s *Session) Methods() []string { return slices.Clone(s.methods) }

// Counters reads the kernel counters; after Detach it returns the last ones.
func (s *Session) Counters() (chaosv1.Counters, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readLocked()
}

func (s *Session) readLocked() (chaosv1.Counters, error) {
	if s.att == nil {
		return s.last, nil
	}
	c, err := s.att.Counters()
	if err != nil {
		return s.last, fmt.Errorf("read counters: %w", err)
	}
	s.last = c
	return s.last, nil
}

// Detach removes the fault, keeping the environment: commands started in it
// go on un-faulted. It reads the counters one last time; calling it again
// does nothing.
func (s *Session) Detach() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.att == nil {
		return nil
	}
	_, readErr := s.readLocked()
	err := s.att.Close()
	s.att = nil
	s.detachedAt = time.Now()
	if err != nil {
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
