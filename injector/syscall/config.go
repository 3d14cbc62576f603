package syscall

import (
	"errors"
	"fmt"
)

// MaxPathPrefix is the longest path prefix the programs compare, in bytes.
const MaxPathPrefix = 255

// MaxTargets bounds the number of namespace inodes and cgroup ids of one
// attachment (the size of the tb_sf_targets map).
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
	// the path string the task passed (not resolved), LSM file_open the
	// resolved path. Syscalls without a path are not affected by it.
	PathPrefix string
	// Backend forces one backend for every syscall; Auto lets Plan choose.
	Backend Backend
}

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
	if c.ProbabilityBasisPoints > 10000 {
		errs = append(errs, fmt.Errorf("probability %d basis points is above 10000", c.ProbabilityBasisPoints))
	}
	if len(c.PathPrefix) > MaxPathPrefix {
		errs = append(errs, fmt.Errorf("path prefix is %d bytes, longer than %d", len(c.PathPrefix), MaxPathPrefix))
	}
	if !c.Backend.valid() {
		errs = append(errs, fmt.Errorf("unknown backend %q", c.Backend))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid syscall fault: %w", err)
	}
	return nil
}

// pathFiltered reports whether PathPrefix applies to s.
func (s Syscall) pathFiltered() bool { return s.Class == ClassFile || s.PathArg != 0 }
