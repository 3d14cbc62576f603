package syscall

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/cilium/ebpf/link"
	"github.com/go-logr/logr"

	"github.com/temblor-dev/temblor/bpf"
)

// lsmSpec parses the LSM object once; callers copy what they change.
var lsmSpec = sync.OnceValues(bpf.LoadSysfaultLsm)

// lsmPrograms maps the LSM hooks of the syscall table to the programs of
// sysfault_lsm.c.
var lsmPrograms = map[string]string{
	"file_open":           bpf.SysfaultLsmProgTbSfFileOpen,
	"file_permission":     bpf.SysfaultLsmProgTbSfFilePerm,
	"socket_connect":      bpf.SysfaultLsmProgTbSfSockConn,
	"socket_bind":         bpf.SysfaultLsmProgTbSfSockBind,
	"socket_accept":       bpf.SysfaultLsmProgTbSfSockAcc,
	"socket_listen":       bpf.SysfaultLsmProgTbSfSockLstn,
	"socket_sendmsg":      bpf.SysfaultLsmProgTbSfSockSend,
	"socket_recvmsg":      bpf.SysfaultLsmProgTbSfSockRecv,
	"socket_create":       bpf.SysfaultLsmProgTbSfSockCrt,
	"socket_setsockopt":   bpf.SysfaultLsmProgTbSfSockSopt,
	"socket_getsockopt":   bpf.SysfaultLsmProgTbSfSockGopt,
	"bprm_check_security": bpf.SysfaultLsmProgTbSfBprm,
	"task_alloc":          bpf.SysfaultLsmProgTbSfTaskAlc,
	"inode_mkdir":         bpf.SysfaultLsmProgTbSfMkdir,
	"inode_unlink":        bpf.SysfaultLsmProgTbSfUnlink,
	"inode_rename":        bpf.SysfaultLsmProgTbSfRename,
	"path_truncate":       bpf.SysfaultLsmProgTbSfPtrunc,
	"file_truncate":       bpf.SysfaultLsmProgTbSfFtrunc,
	"mmap_file":           bpf.SysfaultLsmProgTbSfMmap,
}

// probeLSM checks that "bpf" is an active LSM (when securityfs tells) and
// loads and attaches the file_open program with an empty target set.
func probeLSM(ctx context.Context) error {
	active, list, err := bpfLSMActive()
	switch {
	case err != nil:
		logr.FromContextOrDiscard(ctx).Info("Could not tell whether the BPF LSM is active", "error", err.Error())
	case !active:
		return fmt.Errorf("%w: \"bpf\" is not among the active LSMs (%s); boot with lsm=...,bpf", errNotSupported, list)
	}
	spec, err := lsmSpec()
	if err != nil {
		return fmt.Errorf("load LSM object spec: %w", err)
	}
	coll, err := loadPrograms(spec, []string{bpf.SysfaultLsmProgTbSfFileOpen}, nil, nil)
	if err != nil {
		return err
	}
	defer coll.Close()
	l, err := link.AttachLSM(link.LSMOptions{Program: coll.Programs[bpf.SysfaultLsmProgTbSfFileOpen]})
	if err != nil {
		return fmt.Errorf("attach lsm/file_open: %w", err)
	}
	return l.Close()
}

// attachLSM links one program per hook the syscalls reach. file_permission
// fails only the accesses (MAY_READ, MAY_WRITE) of the chosen syscalls.
func attachLSM(st *attachState, syscalls []Syscall) error {
	spec, err := lsmSpec()
	if err != nil {
		return fmt.Errorf("load LSM object spec: %w", err)
	}
	var mask uint32
	hooks := map[string]bool{}
	for _, s := range syscalls {
		hooks[s.LSMHook] = true
		mask |= s.LSMMask
	}
	cfgMap, err := st.configMap(spec, st.faultConfig(st.scope.bits, mask, true))
	if err != nil {
		return err
	}
	st.own(cfgMap)

	names := make([]string, 0, len(hooks))
	for h := range hooks {
		names = append(names, lsmPrograms[h])
	}
	sort.Strings(names)
	coll, err := loadPrograms(spec, names, st.shared.replacements(cfgMap), nil)
	if err != nil {
		return err
	}
	st.own(collCloser{coll})
	for _, n := range names {
		l, err := link.AttachLSM(link.LSMOptions{Program: coll.Programs[n]})
		if err != nil {
			return fmt.Errorf("attach %s: %w", spec.Programs[n].SectionName, err)
		}
		st.own(l)
	}
	for _, s := range syscalls {
		st.served(s.Name, LSM, s.LSMHook)
	}
	return nil
}
