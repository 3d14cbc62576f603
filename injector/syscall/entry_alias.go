package syscall

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// A syscall without arguments (fork, vfork) has its entry point made by
// SYSCALL_DEFINE0 as an alias: `long __x64_sys_fork(const struct pt_regs *)
// __alias(__do_sys_fork)`. pahole emits no BTF for an alias, so an fmod_ret
// program cannot name __x64_sys_fork; it can name __do_sys_fork, which is the
// same code. The kernel resolves the name to an address through kallsyms and
// allows fmod_ret there because the address is on the error-injection list
// (ALLOW_ERROR_INJECTION(__x64_sys_fork) records the same address).

// aliasTarget returns the function an entry point fn is an alias of
// ("__x64_sys_fork" → "__do_sys_fork"), or "" when fn is not an entry point.
func aliasTarget(fn string) string {
	prefix := syscallEntryPrefix()
	if prefix == "" || !strings.HasPrefix(fn, prefix) {
		return ""
	}
	return "__do_sys_" + strings.TrimPrefix(fn, prefix)
}

// kernelAliasEntryID returns the BTF id of the function that the entry point
// fn (absent from BTF) is an alias of, after checking that kallsyms puts
// both at the same address and that the function has the entry point's
// prototype; otherwise the error says which check failed.
func kernelAliasEntryID(fn string) (btf.TypeID, error) {
	target := aliasTarget(fn)
	if target == "" {
		return 0, fmt.Errorf("%s is not a syscall entry point", fn)
	}
	addrs, err := kernelSymbolAddrs(fn, target)
	if err != nil {
		return 0, err
	}
	if addrs[fn] == 0 || addrs[fn] != addrs[target] {
		return 0, fmt.Errorf("%s is not an alias of %s in kallsyms (addresses %#x, %#x)", fn, target, addrs[fn], addrs[target])
	}
	if _, err := kernelFuncCount(target); err != nil {
		return 0, err
	}
	kernelBTF.mu.Lock()
	defer kernelBTF.mu.Unlock()
	types, err := kernelBTF.spec.AnyTypesByName(target)
	if err != nil {
		return 0, fmt.Errorf("look up %s in kernel BTF: %w", target, err)
	}
	var picked []*btf.Func
	for _, t := range types {
		if f, ok := t.(*btf.Func); ok {
			if _, why := entryParam(f); why == "" {
				picked = append(picked, f)
			}
		}
	}
	if len(picked) != 1 {
		return 0, fmt.Errorf("kernel BTF has %d functions %s with the entry point's prototype, want 1", len(picked), target)
	}
	id, err := kernelBTF.spec.TypeID(picked[0])
	if err != nil {
		return 0, fmt.Errorf("BTF id of %s: %w", target, err)
	}
	return id, nil
}

// symAddrs caches text symbol addresses read from /proc/kallsyms.
var symAddrs struct {
	mu   sync.Mutex
	addr map[string]uint64
}

// kernelSymbolAddrs returns the kallsyms address of each named text symbol
// (0 when absent, or when kptr_restrict hides addresses).
func kernelSymbolAddrs(names ...string) (map[string]uint64, error) {
	symAddrs.mu.Lock()
	defer symAddrs.mu.Unlock()
	out := map[string]uint64{}
	missing := map[string]bool{}
	for _, n := range names {
		if a, ok := symAddrs.addr[n]; ok {
			out[n] = a
		} else {
			missing[n] = true
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, fmt.Errorf("read kernel symbols: %w", err)
	}
	defer f.Close()
	if symAddrs.addr == nil {
		symAddrs.addr = map[string]uint64{}
	}
	for n := range missing {
		symAddrs.addr[n] = 0
		out[n] = 0
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || !missing[fields[2]] || (fields[1] != "T" && fields[1] != "t") {
			continue
		}
		a, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil {
			continue
		}
		symAddrs.addr[fields[2]], out[fields[2]] = a, a
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read kernel symbols: %w", err)
	}
	return out, nil
}
