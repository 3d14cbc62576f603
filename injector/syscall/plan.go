package syscall

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
)

// ErrUnsupported is wrapped by the error of Plan and Attach when a syscall
// cannot be failed by any backend on this kernel.
var ErrUnsupported = errors.New("syscall fault not supported")

// errAmbiguousEntry is wrapped by a backend's rejection when the kernel's
// BTF has more than one function named after the syscall's entry point and
// none of them is the one real entry (realEntryFunc), so that an fmod_ret
// program cannot name its target: a limit of that syscall on that kernel,
// not of the backend (the other syscalls stay eligible).
var errAmbiguousEntry = errors.New("ambiguous syscall entry point in kernel BTF")

// errEntryNotInBTF is wrapped by fmod_ret's rejection when the kernel's BTF
// has no function named after the syscall's entry point (kallsyms may still
// have it): a limit of that syscall on that kernel, like errAmbiguousEntry.
var errEntryNotInBTF = errors.New("syscall entry point not in kernel BTF")

// rejections are the reasons of every backend passed over for one syscall,
// joined with "; " and unwrappable one by one.
type rejections []error

func (r rejections) Error() string {
	parts := make([]string, len(r))
	for i, err := range r {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (r rejections) Unwrap() []error { return r }

// Choice is the backend chosen for one syscall, or why there is none.
type Choice struct {
	// Syscall is the syscall's name.
	Syscall string
	// Backend serves the syscall; empty when none can (see Err).
	Backend Backend
	// Hook is where the backend attaches, e.g. "__x64_sys_openat",
	// "file_open", "connect4,connect6".
	Hook string
	// Note says what the hook also catches or misses, when it is not exact.
	Note string
	// Rejected explains each better-ranked backend that was passed over.
	Rejected []string
	// Err says why no backend can serve the syscall; nil when one can. It
	// wraps ErrUnsupported and each backend's rejection.
	Err error
}

func (c Choice) String() string {
	if c.Err != nil {
		return fmt.Sprintf("%s: unsupported: %v", c.Syscall, c.Err)
	}
	return fmt.Sprintf("%s: %s:%s", c.Syscall, c.Backend, c.Hook)
}

// Plan picks a backend for each syscall of cfg, in the order KprobeOverride,
// FmodRet, LSM, Cgroup (or only cfg.Backend when set), using the cached Probe
// result and what each hook can see. It returns one Choice per syscall and,
// when any syscall cannot be served, an error wrapping ErrUnsupported that
// names each such syscall and the reason of each backend.
func Plan(ctx context.Context, cfg Config) ([]Choice, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	caps := Probe(ctx)
	log := logr.FromContextOrDiscard(ctx)
	candidates := preference
	if cfg.Backend != Auto {
		candidates = []Backend{cfg.Backend}
	}
	var choices []Choice
	var errs []error
	for _, name := range cfg.Syscalls {
		s := syscallTable[name]
		c := Choice{Syscall: name}
		var rejected rejections
		for _, b := range candidates {
			hook, note, err := eligible(b, s, cfg, caps)
			if err != nil {
				err = fmt.Errorf("%s: %w", b, err)
				rejected = append(rejected, err)
				c.Rejected = append(c.Rejected, err.Error())
				if caps.Backends[b].State != StateUnsupported {
					// The kernel runs b, only not for this syscall: say so
					// rather than fall back without a word.
					log.Info("Backend cannot serve this syscall, trying the next", "syscall", name, "backend", b, "reason", err.Error())
				}
				continue
			}
			c.Backend, c.Hook, c.Note = b, hook, note
			break
		}
		if c.Backend == Auto {
			c.Err = fmt.Errorf("%w: %s: %w", ErrUnsupported, name, rejected)
			errs = append(errs, c.Err)
		}
		log.V(1).Info("Planned syscall fault", "choice", c.String(), "rejected", c.Rejected)
		choices = append(choices, c)
	}
	return choices, errors.Join(errs...)
}

// eligible says whether backend b can fail syscall s under cfg, and where it
// would attach.
func eligible(b Backend, s Syscall, cfg Config, caps *Capabilities) (hook, note string, err error) {
	if sup := caps.Backends[b]; sup.State == StateUnsupported {
		return "", "", errors.New(sup.Reason)
	}
	wantPath := cfg.PathPrefix != "" && s.pathFiltered()
	wantSock := cfg.sockFiltered()
	switch b {
	case KprobeOverride, FmodRet:
		prefix := syscallEntryPrefix()
		if prefix == "" {
			return "", "", errors.New("no syscall entry programs for this architecture")
		}
		if wantPath && s.PathArg == 0 && s.FDArg == 0 {
			return "", "", fmt.Errorf("path prefix needs a path or file descriptor argument, and %s takes neither", s.Name)
		}
		if wantSock && s.SockAddr == sockAddrNone {
			return "", "", fmt.Errorf("%s passes no socket address that the entry program reads, so ports and peerCIDRs cannot be honoured", s.Name)
		}
		fn := prefix + s.Name
		n, err := kernelFuncCount(fn)
		if err == nil && n == 0 {
			// fmod_ret names its target by BTF id; a kprobe needs only the
			// symbol, which pahole sometimes leaves out of BTF (fork, vfork
			// on the matrix's custom kernel).
			if b == FmodRet {
				if _, aerr := kernelAliasEntryID(fn); aerr != nil {
					return "", "", fmt.Errorf("%w: %s, and an fmod_ret program names its target by BTF id (nor can it name %s: %w)", errEntryNotInBTF, fn, aliasTarget(fn), aerr)
				}
				return fn, "through " + aliasTarget(fn) + ", of which " + fn + " is an alias", nil
			}
			if ok, kerr := kernelSymbolExists(fn); !ok {
				return "", "", fmt.Errorf("entry point %s not in this kernel (not in BTF; kallsyms: %v)", fn, kerr)
			}
		}
		if b == FmodRet && n > 1 {
			// fmod_ret names its target by BTF id (a kprobe attaches by
			// symbol and is not affected): pick the real entry's.
			if _, err := kernelEntryID(fn); err != nil {
				return "", "", fmt.Errorf("%w: %w, so an fmod_ret program cannot name its target", errAmbiguousEntry, err)
			}
		}
		note := sockNote(wantSock)
		if wantPath && s.PathArg == 0 {
			note += walkNote
		}
		return fn, strings.TrimPrefix(note, "; "), nil
	case LSM:
		if s.LSMHook == "" {
			return "", "", fmt.Errorf("no LSM hook is reached by %s alone", s.Name)
		}
		if wantPath && !s.LSMPath {
			return "", "", fmt.Errorf("hook %s gives no path to compare with the path prefix", s.LSMHook)
		}
		if wantSock && !s.LSMAddr {
			return "", "", fmt.Errorf("hook %s gives this program no socket address to compare with ports and peerCIDRs", s.LSMHook)
		}
		if ok, _ := kernelFuncExists("bpf_lsm_" + s.LSMHook); !ok {
			return "", "", fmt.Errorf("hook %s not in this kernel", s.LSMHook)
		}
		note := "also catches " + s.LSMAlsoCatches + sockNote(wantSock)
		if wantPath && s.LSMHook != "file_open" {
			note += walkNote
		}
		return s.LSMHook, note, nil
	case Cgroup:
		if len(s.CgroupHooks) == 0 {
			return "", "", fmt.Errorf("no cgroup hook can fail %s", s.Name)
		}
		if wantSock && !s.CgroupAddr {
			return "", "", fmt.Errorf("cgroup hooks of %s give no socket address to compare with ports and peerCIDRs", s.Name)
		}
		hooks := make([]string, len(s.CgroupHooks))
		for i, h := range s.CgroupHooks {
			hooks[i] = strings.TrimPrefix(h, "cgroup/")
		}
		return strings.Join(hooks, ","), s.CgroupLimits, nil
	}
	return "", "", fmt.Errorf("unknown backend %q", b)
}

// walkNote is what a path prefix compared with a walked file path (an fd
// argument, file_permission, file_truncate) adds to a choice's note.
var walkNote = fmt.Sprintf("; path of the open file as the task sees it, walked in BPF up to %d components: a deeper path does not match", MaxPathDepth)

// sockNote is what a socket filter adds to a choice's note.
func sockNote(filtered bool) string {
	if !filtered {
		return ""
	}
	return "; with ports or peerCIDRs, only AF_INET and AF_INET6 calls with an address match (not sends on connected sockets)"
}
