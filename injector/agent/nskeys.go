package agent

import (
	"fmt"

	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// nsKey is a namespace an attachment is keyed by: a syscall scope's target
// map key, or the network namespace a network fault is attached in.
type nsKey struct {
	kind  string // "net" or "mnt"
	inode uint64
}

func (k nsKey) String() string { return fmt.Sprintf("%s:[%d]", k.kind, k.inode) }

// scopeKeys lists the namespace keys of a syscall scope.
func scopeKeys(s sysfault.Scope) []nsKey {
	var out []nsKey
	for _, ino := range s.NetNSInodes {
		out = append(out, nsKey{"net", ino})
	}
	for _, ino := range s.MntNSInodes {
		out = append(out, nsKey{"mnt", ino})
	}
	return out
}
