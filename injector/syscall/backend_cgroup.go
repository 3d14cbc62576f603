package syscall

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/temblor-dev/temblor/bpf"
)

// cgroupPrograms maps the cgroup attach points of the syscall table to the
// programs of sysfault_cgroup.c.
var cgroupPrograms = map[string]string{
	"cgroup/connect4":    bpf.SysfaultCgroupProgTbSfConnect4,
	"cgroup/connect6":    bpf.SysfaultCgroupProgTbSfConnect6,
	"cgroup/sendmsg4":    bpf.SysfaultCgroupProgTbSfSendmsg4,
	"cgroup/sendmsg6":    bpf.SysfaultCgroupProgTbSfSendmsg6,
	"cgroup/bind4":       bpf.SysfaultCgroupProgTbSfBind4,
	"cgroup/bind6":       bpf.SysfaultCgroupProgTbSfBind6,
	"cgroup/sock_create": bpf.SysfaultCgroupProgTbSfSockNew,
	"cgroup/setsockopt":  bpf.SysfaultCgroupProgTbSfSetsopt,
	"cgroup/getsockopt":  bpf.SysfaultCgroupProgTbSfGetsopt,
}

// probeCgroup loads the connect4 program, which uses bpf_set_retval
// (Linux 5.18), and checks that a cgroup v2 hierarchy is mounted.
func probeCgroup(context.Context) error {
	if _, err := CgroupV2Root(); err != nil {
		return fmt.Errorf("%w: %v", errNotSupported, err)
	}
	spec, err := cgroupSpec()
	if err != nil {
		return fmt.Errorf("load cgroup object spec: %w", err)
	}
	coll, err := loadPrograms(spec, []string{bpf.SysfaultCgroupProgTbSfConnect4}, nil, nil)
	if err != nil {
		return err
	}
	coll.Close()
	return nil
}

// attachCgroup loads the cgroup programs of syscalls. When the scope is
// exactly a set of cgroup directories, each attachment links them to its own
// directories (cgroupLinks) and every task reaching them is a target, counted
// in the slot of its cgroup; else they are linked once to the cgroup v2 root
// with the target map deciding.
func attachCgroup(st *attachState, syscalls []Syscall) error {
	spec, err := cgroupSpec()
	if err != nil {
		return fmt.Errorf("load cgroup object spec: %w", err)
	}
	scope := uint32(scopeAll | scopeCgroup)
	if !st.scope.only {
		scope = st.scope.bits
	}
	cfgMap, err := st.configMap(spec, st.faultConfig(scope, 0, false))
	if err != nil {
		return err
	}
	st.own(cfgMap)

	var names []string
	seen := map[string]bool{}
	for _, s := range syscalls {
		for _, h := range s.CgroupHooks {
			if !seen[h] {
				seen[h] = true
				names = append(names, cgroupPrograms[h])
			}
		}
	}
	sort.Strings(names)
	coll, err := loadPrograms(spec, names, st.shared.replacements(cfgMap), nil)
	if err != nil {
		return err
	}
	cl := &cgroupLinks{coll: coll, spec: spec, notes: st.notes}
	for _, s := range syscalls {
		hooks := make([]string, len(s.CgroupHooks))
		for i, h := range s.CgroupHooks {
			hooks[i] = strings.TrimPrefix(h, "cgroup/")
		}
		cl.syscalls = append(cl.syscalls, cgroupServed{name: s.Name, hooks: strings.Join(hooks, ",")})
	}
	if st.scope.only {
		st.ld.perDir = cl
		return nil
	}
	st.own(collCloser{coll})
	root, err := CgroupV2Root()
	if err != nil {
		return err
	}
	links, err := cl.link(root)
	for _, l := range links {
		st.own(l)
	}
	if err != nil {
		return err
	}
	st.ld.served = append(st.ld.served, cl.served([]string{root})...)
	return nil
}

// cgroupLinks is the cgroup backend's loaded collection and what it serves.
type cgroupLinks struct {
	coll     *ebpf.Collection
	spec     *ebpf.CollectionSpec
	notes    map[string]string
	syscalls []cgroupServed
}

// cgroupServed is one syscall of the cgroup backend and its attach points.
type cgroupServed struct{ name, hooks string }

// served describes the syscalls as linked to dirs.
func (cl *cgroupLinks) served(dirs []string) []Served {
	out := make([]Served, 0, len(cl.syscalls))
	for _, s := range cl.syscalls {
		out = append(out, Served{Syscall: s.name, Backend: Cgroup, Hook: s.hooks, Note: cl.notes[s.name], CgroupDirs: slices.Clone(dirs)})
	}
	return out
}

// link creates one bpf_link per program on dir and returns those it made,
// also on error. Only BPF_LINK_CREATE is used, never the legacy PROG_ATTACH
// that outlives the process.
func (cl *cgroupLinks) link(dir string) ([]io.Closer, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer f.Close()
	names := make([]string, 0, len(cl.coll.Programs))
	for n := range cl.coll.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	var links []io.Closer
	for _, n := range names {
		l, err := link.AttachRawLink(link.RawLinkOptions{
			Target:  int(f.Fd()),
			Program: cl.coll.Programs[n],
			Attach:  cl.spec.Programs[n].AttachType,
		})
		if err != nil {
			return links, fmt.Errorf("link %s to cgroup %s: %w", n, dir, err)
		}
		links = append(links, l)
	}
	return links, nil
}
