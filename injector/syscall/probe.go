package syscall

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"
)

// State is the outcome of probing one backend.
type State int

// Probe outcomes.
const (
	// StateUnknown means the probe failed in a way that says nothing about
	// the kernel (out of memory, interrupted): the backend stays a candidate
	// and Attach finds out for real.
	StateUnknown State = iota
	// StateSupported means a probe program loaded and attached.
	StateSupported
	// StateUnsupported means the kernel refused: the backend is not used.
	StateUnsupported
)

func (s State) String() string {
	switch s {
	case StateSupported:
		return "supported"
	case StateUnsupported:
		return "unsupported"
	default:
		return "unknown"
	}
}

// Support is what the probe found out about one backend.
type Support struct {
	// State is the outcome.
	State State
	// Reason explains an unsupported or unknown outcome.
	Reason string
}

// Capabilities are the backends the running kernel offers this process.
type Capabilities struct {
	// Backends holds one entry per backend other than Auto.
	Backends map[Backend]Support
}

// backendLabel is how reasons name a backend.
var backendLabel = map[Backend]string{
	KprobeOverride: "kprobe override",
	FmodRet:        "fmod_ret",
	LSM:            "BPF LSM",
	Cgroup:         "cgroup BPF",
}

var (
	probeOnce   sync.Once
	probeResult *Capabilities
)

// Probe finds out, once per process, which backends the kernel offers, by
// loading and attaching (for an instant, with an empty target set) the very
// programs Attach would use. Results are cached; later calls return the
// first result. Inconclusive failures are logged to the logger in ctx.
func Probe(ctx context.Context) *Capabilities {
	probeOnce.Do(func() { probeResult = probeAll(ctx) })
	return probeResult
}

func probeAll(ctx context.Context) *Capabilities {
	log := logr.FromContextOrDiscard(ctx).WithName("syscall-probe")
	probes := map[Backend]func(context.Context) error{
		KprobeOverride: probeKprobeOverride,
		FmodRet:        probeFmodRet,
		LSM:            probeLSM,
		Cgroup:         probeCgroup,
	}
	caps := &Capabilities{Backends: map[Backend]Support{}}
	for _, b := range preference {
		err := probes[b](ctx)
		s := classify(err)
		if s.State == StateUnsupported {
			s.Reason = fmt.Sprintf("%s not supported on this kernel: %s", backendLabel[b], s.Reason)
		}
		if s.State == StateUnknown {
			s.Reason = fmt.Sprintf("%s probe inconclusive: %s", backendLabel[b], s.Reason)
			log.Info("Probe was inconclusive, backend stays a candidate", "backend", b, "error", fmt.Sprintf("%+v", err))
		}
		if s.State == StateUnsupported {
			log.V(1).Info("Backend not supported", "backend", b, "error", fmt.Sprintf("%+v", err))
		}
		caps.Backends[b] = s
	}
	return caps
}

// errNotSupported marks a feature the kernel lacks, found without the bpf
// syscall (missing hook, LSM not active).
var errNotSupported = ebpf.ErrNotSupported

// classify turns a probe error into a Support. ErrNotSupported, a verifier
// rejection, or an errno by which the kernel refuses the program itself is a
// definite no; anything else is inconclusive.
func classify(err error) Support {
	if err == nil {
		return Support{State: StateSupported}
	}
	var ve *ebpf.VerifierError
	switch {
	case errors.Is(err, ebpf.ErrNotSupported), errors.As(err, &ve),
		errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES), errors.Is(err, unix.EINVAL),
		errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOTSUP),
		errors.Is(err, unix.E2BIG), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.Errno(524)): // ENOTSUPP
		return Support{State: StateUnsupported, Reason: err.Error()}
	default:
		return Support{State: StateUnknown, Reason: err.Error()}
	}
}

// syscallEntryPrefix is the prefix of syscall entry points on this
// architecture ("" where Temblor has no syscall-entry programs).
func syscallEntryPrefix() string {
	switch runtime.GOARCH {
	case "amd64":
		return "__x64_sys_"
	case "arm64":
		return "__arm64_sys_"
	}
	return ""
}

// kernelBTF is the running kernel's BTF, loaded once (parsing vmlinux BTF
// takes a while), and how many FUNC entries of each name looked up so far it
// holds. btf.Spec is not safe for concurrent use: mu guards spec and funcs.
var kernelBTF struct {
	once  sync.Once
	err   error
	mu    sync.Mutex
	spec  *btf.Spec
	funcs map[string]int
}

// kernelFuncCount returns how many BTF FUNC entries named fn the kernel's
// BTF (vmlinux) has, cached per name. Without kernel BTF it returns the error.
func kernelFuncCount(fn string) (int, error) {
	kernelBTF.once.Do(func() {
		kernelBTF.spec, kernelBTF.err = btf.LoadKernelSpec()
		kernelBTF.funcs = map[string]int{}
	})
	if kernelBTF.err != nil {
		return 0, fmt.Errorf("load kernel BTF: %w", kernelBTF.err)
	}
	kernelBTF.mu.Lock()
	defer kernelBTF.mu.Unlock()
	if n, ok := kernelBTF.funcs[fn]; ok {
		return n, nil
	}
	types, err := kernelBTF.spec.AnyTypesByName(fn)
	if err != nil && !errors.Is(err, btf.ErrNotFound) {
		return 0, fmt.Errorf("look up %s in kernel BTF: %w", fn, err)
	}
	n := 0
	for _, t := range types {
		if _, ok := t.(*btf.Func); ok {
			n++
		}
	}
	kernelBTF.funcs[fn] = n
	return n, nil
}

// kernelEntryID returns the kernel BTF id of the syscall entry point fn that
// an fmod_ret program must name, or 0 when fn is unique in the kernel's BTF
// (cilium/ebpf then resolves AttachTo itself; it refuses a name with several
// candidates). Where pahole emitted a COND_SYSCALL stub beside the entry,
// realEntryFunc picks the entry, or the error says why it cannot.
func kernelEntryID(fn string) (btf.TypeID, error) {
	n, err := kernelFuncCount(fn)
	if err != nil || n < 2 {
		return 0, err
	}
	kernelBTF.mu.Lock()
	defer kernelBTF.mu.Unlock()
	types, err := kernelBTF.spec.AnyTypesByName(fn)
	if err != nil {
		return 0, fmt.Errorf("look up %s in kernel BTF: %w", fn, err)
	}
	var funcs []*btf.Func
	for _, t := range types {
		if f, ok := t.(*btf.Func); ok {
			funcs = append(funcs, f)
		}
	}
	f, err := realEntryFunc(fn, funcs)
	if err != nil {
		return 0, err
	}
	id, err := kernelBTF.spec.TypeID(f)
	if err != nil {
		return 0, fmt.Errorf("BTF id of %s: %w", fn, err)
	}
	return id, nil
}

// kallsyms caches, per name, whether /proc/kallsyms has a text symbol of
// that name.
var kallsyms struct {
	mu    sync.Mutex
	found map[string]bool
}

// kernelSymbolExists reports whether /proc/kallsyms lists a function (text
// symbol) named fn, which is what a kprobe attaches to. The error says the
// list could not be read (then the answer is false).
func kernelSymbolExists(fn string) (bool, error) {
	kallsyms.mu.Lock()
	defer kallsyms.mu.Unlock()
	if ok, cached := kallsyms.found[fn]; cached {
		return ok, nil
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return false, fmt.Errorf("read kernel symbols: %w", err)
	}
	defer f.Close()
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "ffffffff81041ea7 T __x64_sys_fork"
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[2] == fn && (fields[1] == "T" || fields[1] == "t") {
			found = true
			break
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read kernel symbols: %w", err)
	}
	if kallsyms.found == nil {
		kallsyms.found = map[string]bool{}
	}
	kallsyms.found[fn] = found
	return found, nil
}

// kernelFuncExists reports whether the kernel's BTF has a function named fn.
// Without kernel BTF it answers true with the error, leaving the decision to
// the attach.
func kernelFuncExists(fn string) (bool, error) {
	n, err := kernelFuncCount(fn)
	if err != nil {
		return true, err
	}
	return n > 0, nil
}

// bpfLSMActive reports whether "bpf" is among the active LSMs: BPF LSM
// programs attach even when it is not, but then never run. The error says
// the list could not be read (securityfs not mounted), which tells nothing.
func bpfLSMActive() (bool, string, error) {
	data, err := os.ReadFile("/sys/kernel/security/lsm")
	if err != nil {
		return false, "", fmt.Errorf("read active LSMs: %w", err)
	}
	list := strings.TrimSpace(string(data))
	for _, l := range strings.Split(list, ",") {
		if l == "bpf" {
			return true, list, nil
		}
	}
	return false, list, nil
}
