package bpf

// Network fault programs (tc ingress/egress, XDP ingress) in one object; see
// injector/network for how they are configured and attached. Built from UAPI
// definitions in include/uapi.h, so no vmlinux.h or CO-RE is involved and a
// single little-endian object serves every architecture Temblor ships.
//
// Regenerate with `go generate -run Netfault ./bpf` (needs clang).

//go:generate go tool bpf2go -tags linux -target bpfel -cflags "-O2 -g -Wall -Werror -nostdinc" -type net_cfg -type net_cnt -type port_range -type lpm_v4_key -type lpm_v6_key -type tb_action -type tb_proto -type tb_field -type tb_mode Netfault netfault.c -- -I./include
