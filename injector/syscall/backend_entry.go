//go:build amd64 || arm64

package syscall

import (
	"context"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/temblor-dev/temblor/bpf"
)

// probeSyscall is the entry point the probes attach to for an instant: one
// every process calls and no fault would target.
const probeSyscall = "getpgid"

// The kprobe and fmod_ret objects, parsed once; callers copy what they
// change.
var (
	kprobeSpec  = sync.OnceValues(bpf.LoadSysfaultKprobe)
	fmodRetSpec = sync.OnceValues(bpf.LoadSysfaultFmodRet)
)

// entryPrograms names the variants of one entry backend's program.
type entryPrograms struct {
	plain, path1, path2, fd1, sa2, sa5, msg2 string
}

var (
	kprobePrograms = entryPrograms{
		plain: bpf.SysfaultKprobeProgTbSfKp, path1: bpf.SysfaultKprobeProgTbSfKpPath1, path2: bpf.SysfaultKprobeProgTbSfKpPath2,
		fd1: bpf.SysfaultKprobeProgTbSfKpFd1,
		sa2: bpf.SysfaultKprobeProgTbSfKpSa2, sa5: bpf.SysfaultKprobeProgTbSfKpSa5, msg2: bpf.SysfaultKprobeProgTbSfKpMsg2,
	}
	fmodRetPrograms = entryPrograms{
		plain: bpf.SysfaultFmodRetProgTbSfFmr, path1: bpf.SysfaultFmodRetProgTbSfFmrPath1, path2: bpf.SysfaultFmodRetProgTbSfFmrPath2,
		fd1: bpf.SysfaultFmodRetProgTbSfFmrFd1,
		sa2: bpf.SysfaultFmodRetProgTbSfFmrSa2, sa5: bpf.SysfaultFmodRetProgTbSfFmrSa5, msg2: bpf.SysfaultFmodRetProgTbSfFmrMsg2,
	}
)

// entryVariant picks the kprobe or fmod_ret program for s: the one reading
// the socket address when a socket filter applies, the one reading the path
// or file descriptor argument when a path prefix applies, else the plain one. (The plain
// program fails nothing when a socket filter is configured.)
func entryVariant(s Syscall, cfg Config, p entryPrograms) string {
	if cfg.sockFiltered() {
		switch s.SockAddr {
		case sockAddrArg2:
			return p.sa2
		case sockAddrArg5:
			return p.sa5
		case sockAddrMsg2:
			return p.msg2
		}
		return p.plain
	}
	if cfg.PathPrefix == "" || !s.pathFiltered() {
		return p.plain
	}
	switch {
	case s.PathArg == 1:
		return p.path1
	case s.PathArg == 2:
		return p.path2
	case s.FDArg == 1:
		return p.fd1
	}
	return p.plain
}

// probeKprobeOverride loads the kprobe program (bpf_override_return needs
// CONFIG_BPF_KPROBE_OVERRIDE) and attaches it to a syscall entry.
func probeKprobeOverride(context.Context) error {
	spec, err := kprobeSpec()
	if err != nil {
		return fmt.Errorf("load kprobe object spec: %w", err)
	}
	coll, err := loadPrograms(spec, []string{bpf.SysfaultKprobeProgTbSfKp}, nil, nil)
	if err != nil {
		return err
	}
	defer coll.Close()
	sym := syscallEntryPrefix() + probeSyscall
	l, err := link.Kprobe(sym, coll.Programs[bpf.SysfaultKprobeProgTbSfKp], nil)
	if err != nil {
		return fmt.Errorf("kprobe %s: %w", sym, err)
	}
	return l.Close()
}

// probeFmodRet loads the fmod_ret program against a syscall entry (needs
// CONFIG_FUNCTION_ERROR_INJECTION and trampolines) and attaches it.
func probeFmodRet(context.Context) error {
	spec, err := fmodRetSpec()
	if err != nil {
		return fmt.Errorf("load fmod_ret object spec: %w", err)
	}
	fn := syscallEntryPrefix() + probeSyscall
	coll, err := loadPrograms(spec, []string{bpf.SysfaultFmodRetProgTbSfFmr}, nil,
		func(ps *ebpf.ProgramSpec) { ps.AttachTo = fn })
	if err != nil {
		return err
	}
	defer coll.Close()
	l, err := link.AttachTracing(link.TracingOptions{
		Program:    coll.Programs[bpf.SysfaultFmodRetProgTbSfFmr],
		AttachType: ebpf.AttachModifyReturn,
	})
	if err != nil {
		return fmt.Errorf("fmod_ret %s: %w", fn, err)
	}
	return l.Close()
}

// attachKprobe loads the needed kprobe variants once and attaches one kprobe
// per syscall entry point.
func attachKprobe(st *attachState, syscalls []Syscall) error {
	spec, err := kprobeSpec()
	if err != nil {
		return fmt.Errorf("load kprobe object spec: %w", err)
	}
	cfgMap, err := st.configMap(spec, st.faultConfig(st.scope.bits, 0, true))
	if err != nil {
		return err
	}
	st.own(cfgMap)

	variant := map[string]string{}
	var names []string
	for _, s := range syscalls {
		v := entryVariant(s, st.cfg, kprobePrograms)
		if _, dup := variant[s.Name]; !dup {
			variant[s.Name] = v
		}
		if !contains(names, v) {
			names = append(names, v)
		}
	}
	coll, err := loadPrograms(spec, names, st.shared.replacements(cfgMap), nil)
	if err != nil {
		return err
	}
	st.own(collCloser{coll})
	for _, s := range syscalls {
		sym := syscallEntryPrefix() + s.Name
		l, err := link.Kprobe(sym, coll.Programs[variant[s.Name]], nil)
		if err != nil {
			return fmt.Errorf("kprobe %s: %w", sym, err)
		}
		st.own(l)
		st.served(s.Name, KprobeOverride, sym)
	}
	return nil
}

// attachFmodRet loads one fmod_ret program per syscall entry point (the
// target is fixed at load time) and attaches it.
func attachFmodRet(st *attachState, syscalls []Syscall) error {
	spec, err := fmodRetSpec()
	if err != nil {
		return fmt.Errorf("load fmod_ret object spec: %w", err)
	}
	cfgMap, err := st.configMap(spec, st.faultConfig(st.scope.bits, 0, true))
	if err != nil {
		return err
	}
	st.own(cfgMap)
	for _, s := range syscalls {
		fn := syscallEntryPrefix() + s.Name
		v := entryVariant(s, st.cfg, fmodRetPrograms)
		prog, err := loadFmodRet(spec, v, fn, st.shared.replacements(cfgMap))
		if err != nil {
			return fmt.Errorf("fmod_ret %s: %w", fn, err)
		}
		st.own(prog)
		l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachModifyReturn})
		if err != nil {
			return fmt.Errorf("fmod_ret %s: %w", fn, err)
		}
		st.own(l)
		st.served(s.Name, FmodRet, fn)
	}
	return nil
}

// loadFmodRet loads program name of spec as fmod_ret on fn: by name through
// cilium/ebpf where kernel BTF names fn once, else by the BTF id of the real
// entry point beside the COND_SYSCALL stub (kernelEntryID).
func loadFmodRet(spec *ebpf.CollectionSpec, name, fn string, maps map[string]*ebpf.Map) (*ebpf.Program, error) {
	id, err := kernelEntryID(fn)
	if err != nil {
		return nil, err
	}
	if n, _ := kernelFuncCount(fn); n == 0 {
		// An alias without BTF (fork, vfork): name the aliased function.
		if id, err = kernelAliasEntryID(fn); err != nil {
			return nil, fmt.Errorf("fmod_ret %s: %w", fn, err)
		}
	}
	if id != 0 {
		// btf.Spec is not safe for concurrent use (probe.go).
		kernelBTF.mu.Lock()
		defer kernelBTF.mu.Unlock()
		return loadTracingByID(spec.Copy(), name, ebpf.AttachModifyReturn, id, maps, kernelBTF.spec)
	}
	coll, err := loadPrograms(spec, []string{name}, maps, func(ps *ebpf.ProgramSpec) { ps.AttachTo = fn })
	if err != nil {
		return nil, err
	}
	prog := coll.DetachProgram(name)
	coll.Close()
	return prog, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
