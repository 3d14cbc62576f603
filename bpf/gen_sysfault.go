package bpf

// Syscall fault programs, one object per backend family. They share
// include/sysfault.h and its maps; see injector/syscall for how they are
// chosen and attached. The kprobe and fmod_ret objects read syscall
// arguments from saved registers, so they are built per architecture.
//
// Needs clang and the libbpf headers (libbpf-dev) to regenerate;
// include/vmlinux.h comes from hack/gen-vmlinux.sh.

//go:generate go tool bpf2go -tags linux -target amd64,arm64 -cflags "-O2 -g -Wall -Werror" SysfaultKprobe sysfault_kprobe.c -- -I./include
//go:generate go tool bpf2go -tags linux -target amd64,arm64 -cflags "-O2 -g -Wall -Werror" SysfaultFmodRet sysfault_fmodret.c -- -I./include
//go:generate go tool bpf2go -tags linux -target bpfel -cflags "-O2 -g -Wall -Werror" SysfaultLsm sysfault_lsm.c -- -I./include
//go:generate go tool bpf2go -tags linux -target bpfel -cflags "-O2 -g -Wall -Werror" SysfaultCgroup sysfault_cgroup.c -- -I./include
