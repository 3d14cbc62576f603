package syscall

import (
	"slices"
	"strings"
)

// Served is how one syscall of an attachment is made to fail: which backend,
// at which hook, and what that hook also catches or misses. Status, `temblorctl
// describe` and `temblorctl exec` all print Method, so one attachment reads
// the same everywhere.
type Served struct {
	// Syscall is the syscall's name, e.g. "connect".
	Syscall string
	// Backend serves the syscall.
	Backend Backend
	// Hook is where the backend attached: the kernel function of a kprobe or
	// fmod_ret program ("__x64_sys_openat"), the LSM hook ("file_open") or
	// the cgroup attach points ("connect4,connect6").
	Hook string
	// Note is what the hook also catches or misses when it is not exact
	// (Plan's Choice.Note), clauses separated by "; ". Empty when exact.
	Note string
	// CgroupDirs are the cgroup directories the cgroup backend linked its
	// programs to; empty for the other backends.
	CgroupDirs []string
}

// MaxMethod is the longest Method text, the limit of a status method entry.
const MaxMethod = 128

// Method is the one-line description of s: syscall, backend and hook, then
// the first clause of the note in parentheses, e.g. "open lsm file_open (also
// catches openat, openat2, creat)". It is at most MaxMethod bytes.
func (s Served) Method() string {
	out := s.Syscall + " " + s.Backend.String() + " " + s.Hook
	if first, _, _ := strings.Cut(s.Note, "; "); first != "" {
		out += " (" + first + ")"
	}
	if len(out) > MaxMethod {
		out = out[:MaxMethod-3] + "..."
	}
	return out
}

// served records which backend and hook serve a syscall; the note comes from
// the plan.
func (st *attachState) served(syscall string, b Backend, hook string, dirs ...string) {
	st.ld.served = append(st.ld.served, Served{
		Syscall:    syscall,
		Backend:    b,
		Hook:       hook,
		Note:       st.notes[syscall],
		CgroupDirs: slices.Clone(dirs),
	})
}

// Served returns how each syscall is served, sorted by syscall name.
func (a *Attachment) Served() []Served {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(a.served)
	slices.SortFunc(out, func(x, y Served) int { return strings.Compare(x.Syscall, y.Syscall) })
	return out
}

// Methods returns the Method of every served syscall, sorted by syscall.
func (a *Attachment) Methods() []string {
	served := a.Served()
	out := make([]string, len(served))
	for i, s := range served {
		out[i] = s.Method()
	}
	return out
}
