package syscall

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// TestDPathInLSMHooks records why file_permission and file_truncate walk
// the path themselves (bpf/include/sysfault_path.h): the verifier refuses
// bpf_d_path in LSM programs on hooks outside its sleepable list, which
// file_permission and file_truncate are not on, and accepts it on
// file_open. Each program passes &file->f_path (offset from this kernel's
// BTF) to bpf_d_path, so file_open's load must succeed and the others must
// fail on the helper alone.
func TestDPathInLSMHooks(t *testing.T) {
	testutil.RequireRoot(t)
	requireBackend(t, LSM)
	kspec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatalf("kernel BTF: %v", err)
	}
	var file *btf.Struct
	if err := kspec.TypeByName("file", &file); err != nil {
		t.Fatalf("struct file: %v", err)
	}
	off := -1
	for _, m := range file.Members {
		if m.Name == "f_path" {
			off = int(m.Offset.Bytes())
		}
	}
	if off < 0 {
		t.Fatal("struct file has no f_path")
	}
	load := func(hook string) error {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name: "tb_test_dpath", Type: ebpf.LSM, AttachType: ebpf.AttachLSMMac, AttachTo: hook, License: "GPL",
			Instructions: asm.Instructions{
				asm.Mov.Reg(asm.R6, asm.R10),
				asm.Add.Imm(asm.R6, -64),
				asm.LoadMem(asm.R1, asm.R1, 0, asm.DWord), // struct file *
				asm.Add.Imm(asm.R1, int32(off)),           // &file->f_path
				asm.Mov.Reg(asm.R2, asm.R6),
				asm.Mov.Imm(asm.R3, 64),
				asm.FnDPath.Call(),
				asm.Mov.Imm(asm.R0, 0),
				asm.Return(),
			},
		})
		if err == nil {
			prog.Close()
		}
		return err
	}
	if err := load("file_open"); err != nil {
		t.Fatalf("bpf_d_path on file_open (allowed, the control): %+v", err)
	}
	for _, hook := range []string{"file_permission", "file_truncate"} {
		if ok, _ := kernelFuncExists("bpf_lsm_" + hook); !ok {
			t.Logf("%s: hook not in this kernel", hook)
			continue
		}
		err := load(hook)
		var ve *ebpf.VerifierError
		switch {
		case err == nil:
			t.Errorf("bpf_d_path on %s loaded: the kernel allows it there now, the walk could give way to it", hook)
		case errors.As(err, &ve) && strings.Contains(fmt.Sprintf("%+v", err), "not allowed"):
			t.Logf("%s: refused as expected: %v", hook, err)
		default:
			t.Errorf("bpf_d_path on %s failed for another reason: %+v", hook, err)
		}
	}
}
