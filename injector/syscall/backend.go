package syscall

// Backend names a mechanism that fails syscalls.
type Backend string

// Backends, in the order [Plan] prefers them. [Auto] lets Plan choose.
const (
	Auto           Backend = ""
	KprobeOverride Backend = "kprobe-override"
	FmodRet        Backend = "fmod_ret"
	LSM            Backend = "lsm"
	Cgroup         Backend = "cgroup"
)

// preference is the order in which Plan tries backends.
var preference = []Backend{KprobeOverride, FmodRet, LSM, Cgroup}

func (b Backend) String() string {
	if b == Auto {
		return "auto"
	}
	return string(b)
}

// valid reports whether b is Auto or a known backend.
func (b Backend) valid() bool {
	if b == Auto {
		return true
	}
	for _, p := range preference {
		if b == p {
			return true
		}
	}
	return false
}
