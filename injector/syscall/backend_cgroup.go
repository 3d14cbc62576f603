package syscall

import (
	"context"
	"fmt"
	"os"
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
	spec, err := bpf.LoadSysfaultCgroup()
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

// attachCgroup links the cgroup programs of syscalls to the scope's cgroup
// directories when the scope is exactly those, else to the cgroup v2 root
// with the target map deciding.
func attachCgroup(st *attachState, syscalls []Syscall) error {
	spec, err := bpf.LoadSysfaultCgroup()
	if err != nil {
		return fmt.Errorf("load cgroup object spec: %w", err)
	}
	dirs, scope := st.scope.paths, uint32(scopeAll)
	if !st.scope.only {
		root, err := CgroupV2Root()
		if err != nil {
			return err
		}
		dirs, scope = []string{root}, st.scope.bits
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
	st.own(collCloser{coll})

	for _, dir := range dirs {
		if err := attachCgroupDir(st, dir, coll, spec); err != nil {
			return err
		}
	}
	for _, s := range syscalls {
		hooks := make([]string, len(s.CgroupHooks))
		for i, h := range s.CgroupHooks {
			hooks[i] = strings.TrimPrefix(h, "cgroup/")
		}
		st.served(s.Name, Cgroup, strings.Join(hooks, ","), dirs...)
	}
	return nil
}

// attachCgroupDir creates one bpf_link per program on dir. Only
// BPF_LINK_CREATE is used, never the legacy PROG_ATTACH that outlives the
// process.
func attachCgroupDir(st *attachState, dir string, coll *ebpf.Collection, spec *ebpf.CollectionSpec) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer f.Close()
	names := make([]string, 0, len(coll.Programs))
	for n := range coll.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l, err := link.AttachRawLink(link.RawLinkOptions{
			Target:  int(f.Fd()),
			Program: coll.Programs[n],
			Attach:  spec.Programs[n].AttachType,
		})
		if err != nil {
			return fmt.Errorf("link %s to cgroup %s: %w", n, dir, err)
		}
		st.own(l)
	}
	return nil
}
