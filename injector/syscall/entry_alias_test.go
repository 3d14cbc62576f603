package syscall

import (
	"runtime"
	"testing"
)

func TestAliasTarget(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("entry point names differ by architecture; amd64 cases only")
	}
	for fn, want := range map[string]string{
		"__x64_sys_fork":   "__do_sys_fork",
		"__x64_sys_vfork":  "__do_sys_vfork",
		"__arm64_sys_fork": "",
		"do_fork":          "",
	} {
		if got := aliasTarget(fn); got != want {
			t.Errorf("aliasTarget(%q) = %q, want %q", fn, got, want)
		}
	}
}

// TestKernelSymbolAddrs reads this kernel's kallsyms: a function every
// kernel has is found, a made-up name is not.
func TestKernelSymbolAddrs(t *testing.T) {
	addrs, err := kernelSymbolAddrs("schedule", "tb_no_such_function")
	if err != nil {
		t.Skipf("no kallsyms: %v", err)
	}
	if addrs["tb_no_such_function"] != 0 {
		t.Errorf("made-up symbol found at %#x", addrs["tb_no_such_function"])
	}
	if addrs["schedule"] == 0 {
		t.Logf("schedule has address 0: kptr_restrict hides addresses here")
	}
}
