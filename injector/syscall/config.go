package syscall

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/temblor-dev/temblor/bpf"
)

// MaxPathPrefix is the longest path prefix the programs compare, in bytes.
const MaxPathPrefix = 255

// MaxPathDepth is the most path components the BPF path walk of an open
// file follows (TB_SF_WALK_MAX in bpf/include/sysfault_path.h): a file
// deeper than that, as the task sees it, does not match a path prefix.
const MaxPathDepth = 32

// MaxTargets bounds the number of namespace inodes and cgroup ids of one
// attachment, and of all the attachments sharing a load (the size of the
// tb_sf_targets map): an attachment that would not fit gets a load of its
// own.
const MaxTargets = 4096

// Scope says which tasks a fault hits. A task is a target when its network
// namespace, its cgroup v2, or its mount namespace is listed, or when it runs
// in (a descendant of) one of CgroupPaths. At least one field must be set.
type Scope struct {
	// NetNSInodes are network namespace inodes (as in /proc/PID/ns/net): a
	// pod's tasks share one.
	NetNSInodes []uint64
	// CgroupIDs are cgroup v2 ids (the inode of the cgroup directory), matched
	// against the task's own cgroup, not its ancestors.
	CgroupIDs []uint64
	// MntNSInodes are mount namespace inodes, one per container.
	MntNSInodes []uint64
	// CgroupPaths are cgroup v2 directories. The cgroup backend attaches
	// there; the other backends target the ids of each directory and of its
	// descendants that exist at attach time.
	CgroupPaths []string
}

func (s Scope) empty() bool {
	return len(s.NetNSInodes) == 0 && len(s.CgroupIDs) == 0 && len(s.MntNSInodes) == 0 && len(s.CgroupPaths) == 0
}

// onlyCgroupPaths reports whether the scope is exactly a set of cgroup
// directories, which the cgroup backend serves by where it attaches.
func (s Scope) onlyCgroupPaths() bool {
	return len(s.CgroupPaths) > 0 && len(s.NetNSInodes) == 0 && len(s.CgroupIDs) == 0 && len(s.MntNSInodes) == 0
}

// Config is one syscall fault.
type Config struct {
	// Syscalls to fail, by name (see SyscallNames).
	Syscalls []string
	// Errno to return, by name (see ErrnoNames).
	Errno string
	// ProbabilityBasisPoints is the chance that a matched call fails, in
	// 1/10000 (0..10000).
	ProbabilityBasisPoints uint32
	// PathPrefix, if set, restricts file syscalls (and execve) to paths that
	// start with it. Backends compare what they can see: kprobe and fmod_ret
	// the path string the task passed (not resolved) or, for a file
	// descriptor argument (read, write, fsync, ftruncate, ...), the open
	// file's path as the task sees it; LSM file_open the resolved path, and
	// file_permission and file_truncate the file's path as the task sees it.
	// A walked path deeper than MaxPathDepth components does not match.
	// Syscalls without a path are not affected by it.
	PathPrefix string
	// Ports, if set, restricts the socket syscalls that carry an address
	// (connect, bind, sendto, sendmsg) to calls whose port is in one of the
	// ranges: the destination port, or for bind the local port being bound.
	Ports []PortRange
	// PeerCIDRs, if set, restricts the same syscalls to calls whose address
	// is in one of the prefixes: the peer, or for bind the local address
	// being bound. With Ports, both must match. A call without an address
	// (a send on a connected socket) or of another family (AF_UNIX) never
	// matches a filter.
	PeerCIDRs []netip.Prefix
	// Backend forces one backend for every syscall; Auto lets Plan choose.
	Backend Backend
}

// PortRange is an inclusive range of ports, 1..65535.
type PortRange struct {
	From, To uint16
}

// Limits of the socket filters (the sizes in bpf/include/sysfault.h).
const (
	// MaxPortRanges is the most port ranges of one fault.
	MaxPortRanges = 8
	// MaxPeerCIDRs is the most peer prefixes of one fault.
	MaxPeerCIDRs = 32
)

// sockFiltered reports whether c has a socket filter.
func (c Config) sockFiltered() bool { return len(c.Ports) > 0 || len(c.PeerCIDRs) > 0 }

// sockFilterErrors returns what is wrong with the socket filters of c.
func (c Config) sockFilterErrors() []error {
	if !c.sockFiltered() {
		return nil
	}
	var errs []error
	for _, name := range c.Syscalls {
		if s, ok := syscallTable[name]; ok && !s.sockAddressed() {
			errs = append(errs, fmt.Errorf("socket filters (ports, peerCIDRs) apply only to connect, bind, sendto, sendmsg, not %q", name))
		}
	}
	if len(c.Ports) > MaxPortRanges {
		errs = append(errs, fmt.Errorf("%d port ranges, at most %d", len(c.Ports), MaxPortRanges))
	}
	for _, r := range c.Ports {
		if r.From == 0 || r.To < r.From {
			errs = append(errs, fmt.Errorf("port range %d-%d: ports are 1-65535, from <= to", r.From, r.To))
		}
	}
	if len(c.PeerCIDRs) > MaxPeerCIDRs {
		errs = append(errs, fmt.Errorf("%d peer CIDRs, at most %d", len(c.PeerCIDRs), MaxPeerCIDRs))
	}
	for i, p := range c.PeerCIDRs {
		switch {
		case !p.IsValid():
			errs = append(errs, fmt.Errorf("invalid peer CIDR %v", p))
		case p.Addr().Is4In6():
			errs = append(errs, fmt.Errorf("peer CIDR %v: IPv4-mapped IPv6 prefixes are not allowed", p))
		case p != p.Masked():
			errs = append(errs, fmt.Errorf("peer CIDR %v is not masked (want %v)", p, p.Masked()))
		case slices.Contains(c.PeerCIDRs[:i], p):
			errs = append(errs, fmt.Errorf("peer CIDR %v given twice", p))
		}
	}
	return errs
}

// Validate checks the config on its own, with no kernel work: what it
// refuses, no backend would attach.
func (c Config) Validate() error { return c.validate() }

// validate checks the config on its own, before any kernel work.
func (c Config) validate() error {
	var errs []error
	if len(c.Syscalls) == 0 {
		errs = append(errs, errors.New("no syscall given"))
	}
	seen := map[string]bool{}
	for _, s := range c.Syscalls {
		if _, ok := syscallTable[s]; !ok {
			errs = append(errs, fmt.Errorf("unknown syscall %q", s))
		}
		if seen[s] {
			errs = append(errs, fmt.Errorf("syscall %q given twice", s))
		}
		seen[s] = true
	}
	if _, ok := Errno(c.Errno); !ok {
		errs = append(errs, fmt.Errorf("unknown errno %q", c.Errno))
	}
	if c.ProbabilityBasisPoints > bpf.ProbabilityOne {
		errs = append(errs, fmt.Errorf("probability %d basis points is above %d", c.ProbabilityBasisPoints, bpf.ProbabilityOne))
	}
	if len(c.PathPrefix) > MaxPathPrefix {
		errs = append(errs, fmt.Errorf("path prefix is %d bytes, longer than %d", len(c.PathPrefix), MaxPathPrefix))
	}
	errs = append(errs, c.sockFilterErrors()...)
	if !c.Backend.valid() {
		errs = append(errs, fmt.Errorf("unknown backend %q", c.Backend))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid syscall fault: %w", err)
	}
	return nil
}

// pathFiltered reports whether PathPrefix applies to s.
func (s Syscall) pathFiltered() bool { return s.Class == ClassFile || s.pathCapable() }

// sockAddressed reports whether s carries a socket address that the socket
// filters compare.
func (s Syscall) sockAddressed() bool { return s.SockAddr != sockAddrNone }
