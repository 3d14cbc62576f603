package bpf

// Syscall fault programs, one object per backend family. They share
// include/sysfault.h and its maps; see injector/syscall for how they are
// chosen and attached. The kprobe and fmod_ret objects read syscall
// arguments from saved registers, so they are built per architecture.
//
// Needs clang to regenerate; every header is under include/ (-nostdinc:
// nothing comes from the host, libbpf headers are vendored in include/bpf);
// include/vmlinux.h comes from hack/gen-vmlinux.sh.

//go:generate go tool bpf2go -tags linux -target amd64,arm64 -cflags "-O2 -g -Wall -Werror -nostdinc" SysfaultKprobe sysfault_kprobe.c -- -I./include
//go:generate go tool bpf2go -tags linux -target amd64,arm64 -cflags "-O2 -g -Wall -Werror -nostdinc" SysfaultFmodRet sysfault_fmodret.c -- -I./include
//go:generate go tool bpf2go -tags linux -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" SysfaultLsm sysfault_lsm.c -- -I./include
//go:generate go tool bpf2go -tags linux -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" SysfaultCgroup sysfault_cgroup.c -- -I./include
