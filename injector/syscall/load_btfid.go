//go:build amd64 || arm64

package syscall

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// progLoadAttr is the head of union bpf_attr for BPF_PROG_LOAD, up to
// attach_btf_obj_fd (include/uapi/linux/bpf.h); the kernel zeroes the rest.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
	progBTFFD          uint32
	funcInfoRecSize    uint32
	funcInfo           uint64
	funcInfoCnt        uint32
	lineInfoRecSize    uint32
	lineInfo           uint64
	lineInfoCnt        uint32
	attachBTFID        uint32
	attachBTFObjFD     uint32
}

// verifierLogSize is the verifier log buffer of a failed load's retry.
const verifierLogSize = 1 << 20

// loadTracingByID loads program name of spec, a Tracing program of
// attachType, against the vmlinux BTF function of id id, with its maps
// replaced by maps. cilium/ebpf takes the target only by name (AttachTo) and
// refuses a name that kernel BTF holds twice (cilium/ebpf#894), so this does
// what its loader does for the programs of this package: CO-RE relocations
// against the kernel's BTF, map descriptors, then BPF_PROG_LOAD with
// attach_btf_id. Programs with BPF-to-BPF calls, kfuncs or maps not in maps
// are refused. The kernel checks the program against that function's
// prototype and patches the address kallsyms has for its name.
func loadTracingByID(spec *ebpf.CollectionSpec, name string, attachType ebpf.AttachType, id btf.TypeID, maps map[string]*ebpf.Map, kernel *btf.Spec) (*ebpf.Program, error) {
	ps, ok := spec.Programs[name]
	if !ok {
		return nil, fmt.Errorf("program %s missing from object", name)
	}
	if ps.ByteOrder != nil && ps.ByteOrder != binary.LittleEndian {
		return nil, fmt.Errorf("program %s is %s, and amd64 and arm64 are little-endian", name, ps.ByteOrder)
	}
	if ps.Type != ebpf.Tracing {
		return nil, fmt.Errorf("program %s is %s, not tracing", name, ps.Type)
	}
	insns := make(asm.Instructions, len(ps.Instructions))
	copy(insns, ps.Instructions)
	if err := coreRelocate(insns, kernel); err != nil {
		return nil, fmt.Errorf("program %s: apply CO-RE relocations: %w", name, err)
	}
	for i, ins := range insns {
		if ins.IsFunctionCall() || ins.IsFunctionReference() || ins.IsKfuncCall() {
			return nil, fmt.Errorf("program %s: instruction %d: BPF-to-BPF calls and kfuncs are not supported by this loader", name, i)
		}
	}
	for i := range insns {
		ins := &insns[i]
		switch {
		case ins.IsLoadFromMap():
			ref := ins.Reference()
			m := maps[ref]
			if m == nil {
				return nil, fmt.Errorf("program %s: instruction %d: map %q not supplied", name, i, ref)
			}
			if err := ins.AssociateMap(m); err != nil {
				return nil, fmt.Errorf("program %s: instruction %d: %w", name, i, err)
			}
		}
	}
	var buf bytes.Buffer
	if err := insns.Marshal(&buf, binary.LittleEndian); err != nil {
		return nil, fmt.Errorf("program %s: marshal: %w", name, err)
	}
	code := buf.Bytes()
	license := append([]byte(ps.License), 0)
	attr := progLoadAttr{
		progType:           uint32(ps.Type),
		insnCnt:            uint32(len(code) / asm.InstructionSize),
		insns:              uint64(uintptr(unsafe.Pointer(&code[0]))),
		license:            uint64(uintptr(unsafe.Pointer(&license[0]))),
		expectedAttachType: uint32(attachType),
		attachBTFID:        uint32(id),
	}
	copy(attr.progName[:unix.BPF_OBJ_NAME_LEN-1], ps.Name)
	fd, err := bpfProgLoad(&attr)
	if err != nil {
		// Load again with the verifier's log, for the reason.
		log := make([]byte, verifierLogSize)
		attr.logLevel, attr.logSize = 1, uint32(len(log))
		attr.logBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
		if fd2, err2 := bpfProgLoad(&attr); err2 == nil {
			unix.Close(fd2)
		}
		runtime.KeepAlive(log)
		msg := string(bytes.TrimRight(log, "\x00"))
		if len(msg) > 2048 {
			msg = "..." + msg[len(msg)-2048:]
		}
		return nil, fmt.Errorf("load program %s against BTF id %d: %w: verifier log: %s", name, id, err, msg)
	}
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	runtime.KeepAlive(maps)
	prog, err := ebpf.NewProgramFromFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("program %s: %w", name, err)
	}
	return prog, nil
}

func bpfProgLoad(attr *progLoadAttr) (int, error) {
	var errno unix.Errno
	// EAGAIN: a signal interrupted the verifier; the kernel asks for a retry.
	for try := 0; try < 5; try++ {
		var fd uintptr
		fd, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(attr)), unsafe.Sizeof(*attr))
		runtime.KeepAlive(attr)
		if errno == 0 {
			return int(fd), nil
		}
		if errno != unix.EAGAIN {
			break
		}
	}
	return -1, fmt.Errorf("bpf(BPF_PROG_LOAD): %w", errno)
}

// coreRelocate applies the CO-RE relocations of insns against kernel.
func coreRelocate(insns asm.Instructions, kernel *btf.Spec) error {
	var relos []*btf.CORERelocation
	var at []*asm.Instruction
	for i := range insns {
		if r := btf.CORERelocationMetadata(&insns[i]); r != nil {
			relos = append(relos, r)
			at = append(at, &insns[i])
		}
	}
	if len(relos) == 0 {
		return nil
	}
	if kernel == nil {
		return errors.New("no kernel BTF")
	}
	noLocalIDs := func(btf.Type) (btf.TypeID, error) {
		return 0, errors.New("local type id relocations are not supported by this loader")
	}
	fixups, err := btf.CORERelocate(relos, []*btf.Spec{kernel}, binary.LittleEndian, noLocalIDs)
	if err != nil {
		return err
	}
	for i, f := range fixups {
		if err := f.Apply(at[i]); err != nil {
			return fmt.Errorf("fixup for %s: %w", relos[i], err)
		}
	}
	return nil
}
