package syscall

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// condSyscallParam is the parameter name of the COND_SYSCALL weak stub of a
// syscall entry point (arch/x86/include/asm/syscall_wrapper.h and
// arch/arm64/include/asm/syscall_wrapper.h: `__weak long
// __x64_sys_<name>(const struct pt_regs *__unused)`). The real entry, made by
// SYSCALL_DEFINEx, names it regs. pahole 1.24 emits BTF for both; their
// prototypes and linkage are otherwise the same.
const condSyscallParam = "__unused"

// realEntryFunc picks, among the kernel BTF functions named after a syscall
// entry point, the one an fmod_ret program must name: a function taking one
// `const struct pt_regs *` (a complete struct, not a forward declaration)
// that is not the COND_SYSCALL stub. Exactly one candidate must remain. (The
// kernel resolves the address to patch by name through kallsyms, where only
// the real entry is, so the BTF id chooses only the prototype the verifier
// checks the program against.)
func realEntryFunc(name string, funcs []*btf.Func) (*btf.Func, error) {
	var picked []*btf.Func
	var passed []string
	for _, f := range funcs {
		param, why := entryParam(f)
		switch {
		case why != "":
			passed = append(passed, why)
		case param == condSyscallParam:
			passed = append(passed, fmt.Sprintf("one is the COND_SYSCALL stub (parameter %s)", param))
		default:
			picked = append(picked, f)
		}
	}
	if len(picked) == 1 {
		return picked[0], nil
	}
	detail := ""
	if len(passed) > 0 {
		detail = " (" + strings.Join(passed, "; ") + ")"
	}
	return nil, fmt.Errorf("kernel BTF has %d functions named %s, and %d of them take const struct pt_regs * and are not the COND_SYSCALL stub, want exactly 1%s",
		len(funcs), name, len(picked), detail)
}

// entryParam returns the name of f's only parameter when f has the
// prototype of a syscall entry point, long (const struct pt_regs *), or else
// says why not.
func entryParam(f *btf.Func) (string, string) {
	proto, ok := f.Type.(*btf.FuncProto)
	if !ok {
		return "", fmt.Sprintf("one has no prototype (%s)", f.Type)
	}
	if len(proto.Params) != 1 {
		return "", fmt.Sprintf("one takes %d parameters", len(proto.Params))
	}
	p := proto.Params[0]
	ptr, ok := btf.UnderlyingType(p.Type).(*btf.Pointer)
	if !ok {
		return "", fmt.Sprintf("one takes %s, not a pointer", p.Type)
	}
	c, ok := ptr.Target.(*btf.Const)
	if !ok {
		return "", fmt.Sprintf("one takes a pointer to %s, not to const struct pt_regs", ptr.Target)
	}
	s, ok := btf.UnderlyingType(c.Type).(*btf.Struct)
	if !ok || s.Name != "pt_regs" {
		return "", fmt.Sprintf("one takes a pointer to const %s, not to struct pt_regs", c.Type)
	}
	return p.Name, ""
}
