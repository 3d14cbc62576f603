package syscall

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// entryFunc builds a syscall entry point's BTF as pahole emits it:
// long name(const struct pt_regs *param), with target the pointee (a
// complete struct pt_regs, or a forward declaration).
func entryFunc(name, param string, target btf.Type) *btf.Func {
	long := &btf.Int{Name: "long int", Size: 8, Encoding: btf.Signed}
	return &btf.Func{Name: name, Linkage: btf.StaticFunc, Type: &btf.FuncProto{
		Return: long,
		Params: []btf.FuncParam{{Name: param, Type: &btf.Pointer{Target: &btf.Const{Type: target}}}},
	}}
}

// TestRealEntryFunc picks the real syscall entry beside its COND_SYSCALL
// stub, in either order, as the custom kernel of the matrix has them for
// connect, bind and socket (same prototype and linkage, parameter __unused
// in the stub), and refuses what it cannot tell apart.
func TestRealEntryFunc(t *testing.T) {
	const fn = "__x64_sys_connect"
	regs := &btf.Struct{Name: "pt_regs", Size: 168}
	real := entryFunc(fn, "regs", regs)
	stub := entryFunc(fn, condSyscallParam, regs)
	fwd := entryFunc(fn, "regs", &btf.Fwd{Name: "pt_regs", Kind: btf.FwdStruct})
	other := entryFunc(fn, "regs", &btf.Struct{Name: "user_regs_struct"})
	typedefRegs := entryFunc(fn, "regs", &btf.Typedef{Name: "regs_t", Type: regs})
	twoParams := &btf.Func{Name: fn, Type: &btf.FuncProto{Params: []btf.FuncParam{{Name: "a", Type: regs}, {Name: "b", Type: regs}}}}

	for _, tc := range []struct {
		name  string
		funcs []*btf.Func
		want  *btf.Func
		err   string
	}{
		{"stub then real", []*btf.Func{stub, real}, real, ""},
		{"real then stub", []*btf.Func{real, stub}, real, ""},
		{"forward-declared pt_regs passed over", []*btf.Func{fwd, real}, real, ""},
		{"typedef of pt_regs", []*btf.Func{stub, typedefRegs}, typedefRegs, ""},
		{"two stubs", []*btf.Func{stub, stub}, nil, "kernel BTF has 2 functions named __x64_sys_connect, and 0 of them take const struct pt_regs * and are not the COND_SYSCALL stub, want exactly 1 (one is the COND_SYSCALL stub (parameter __unused); one is the COND_SYSCALL stub (parameter __unused))"},
		{"two real", []*btf.Func{real, real}, nil, "kernel BTF has 2 functions named __x64_sys_connect, and 2 of them take const struct pt_regs * and are not the COND_SYSCALL stub, want exactly 1"},
		{"wrong struct", []*btf.Func{stub, other}, nil, `one takes a pointer to const Struct:"user_regs_struct", not to struct pt_regs`},
		{"forward only", []*btf.Func{stub, fwd}, nil, "not to struct pt_regs"},
		{"two parameters", []*btf.Func{stub, twoParams}, nil, "one takes 2 parameters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := realEntryFunc(fn, tc.funcs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v (%p), %v; want %p", got, got, err, tc.want)
			}
		})
	}
}

// TestKernelSymbolExists checks the kallsyms lookup that keeps a kprobe
// eligible for an entry point that pahole left out of BTF.
func TestKernelSymbolExists(t *testing.T) {
	prefix := syscallEntryPrefix()
	if prefix == "" {
		t.Skip("no syscall entry programs on this architecture")
	}
	if ok, err := kernelSymbolExists(prefix + "getpgid"); !ok {
		t.Fatalf("%sgetpgid not found in kallsyms: %v", prefix, err)
	}
	if ok, err := kernelSymbolExists(prefix + "tb_no_such_syscall"); ok || err != nil {
		t.Fatalf("a made-up symbol: %v %v, want not found", ok, err)
	}
}
