//go:build amd64 || arm64

package syscall

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/temblor-dev/temblor/bpf"
)

// TestLoadTracingByIDGuards tries to get programs past the by-id loader
// that it cannot load as cilium/ebpf would: a map left unsupplied, a
// program that is not a tracing program, a BPF-to-BPF call. Each is refused
// before the bpf syscall.
func TestLoadTracingByIDGuards(t *testing.T) {
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		t.Skipf("no kernel BTF for the CO-RE relocations: %v", err)
	}
	spec, err := bpf.LoadSysfaultFmodRet()
	if err != nil {
		t.Fatal(err)
	}
	_, err = loadTracingByID(spec, fmodRetPrograms.sa2, ebpf.AttachModifyReturn, 1, nil, kernel)
	if err == nil || !strings.Contains(err.Error(), "not supplied") {
		t.Errorf("no maps: %v, want a map not supplied", err)
	}

	kp, err := bpf.LoadSysfaultKprobe()
	if err != nil {
		t.Fatal(err)
	}
	_, err = loadTracingByID(kp, kprobePrograms.plain, ebpf.AttachModifyReturn, 1, nil, kernel)
	if err == nil || !strings.Contains(err.Error(), "not tracing") {
		t.Errorf("kprobe program: %v, want refused as not tracing", err)
	}

	withCall := spec.Copy()
	ps := withCall.Programs[fmodRetPrograms.plain]
	ps.Instructions = append(ps.Instructions[:0:0], ps.Instructions...)
	// Turn the first helper call into a BPF-to-BPF call.
	for i := range ps.Instructions {
		if ps.Instructions[i].IsBuiltinCall() {
			ps.Instructions[i].Src = 1 // asm.PseudoCall
			break
		}
	}
	_, err = loadTracingByID(withCall, fmodRetPrograms.plain, ebpf.AttachModifyReturn, 1, nil, kernel)
	if err == nil || !strings.Contains(err.Error(), "BPF-to-BPF calls") {
		t.Errorf("BPF-to-BPF call: %v, want refused", err)
	}
}
