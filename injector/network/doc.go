// Package network injects packet faults into a network namespace: it loads
// Temblor's netfault BPF object (see package bpf), writes the fault's
// configuration into its maps and attaches its programs to the namespace's
// interfaces with tcx, netlink tc (clsact + cls_bpf) or XDP.
//
// Everything attached through tcx and XDP is an unpinned bpf_link owned by the
// Attachment: if the process dies, the kernel detaches it. Legacy netlink tc
// filters have no link semantics; they carry Temblor's marks (name prefix
// "tb_", priorities from LegacyPriorityMin) so that CleanupLegacy can remove
// them after a crash.
package network
