// Package syscall makes chosen syscalls of target tasks fail with an errno,
// through whichever eBPF mechanism the running kernel offers.
//
// Four backends exist, tried in this order for each syscall:
//
//  1. [KprobeOverride]: a kprobe on the syscall entry point
//     (__x64_sys_<name>, __arm64_sys_<name>) calling bpf_override_return.
//     Needs CONFIG_BPF_KPROBE_OVERRIDE. Exact: fails precisely that syscall.
//  2. [FmodRet]: an fmod_ret program on the same entry point. Needs
//     CONFIG_FUNCTION_ERROR_INJECTION and BPF trampolines. Exact.
//  3. [LSM]: a BPF LSM program on the security hook the syscall reaches (see
//     [Lookup]). Needs CONFIG_BPF_LSM with "bpf" in the active LSMs. A hook is
//     coarser than a syscall: it may also fail related syscalls.
//  4. [Cgroup]: cgroup v2 socket hooks (connect4/6, sendmsg4/6, bind4/6,
//     sock_create, set/getsockopt) with bpf_set_retval. Works wherever cgroup
//     BPF does, for the network syscalls only.
//
// [Probe] finds out once per process what the kernel allows; [Plan] picks a
// backend per syscall and says why; [Attach] loads and links the programs.
//
// Attachments of an equal fault share one load: the programs are verified
// once, and each attachment (a target) adds only its keys to the shared
// target map, with its slot as the value, and for the cgroup backend scoped
// by where it attaches, its links. Each counts into its own slot of the
// counters, so [Attachment.Counters] stays per target. Up to 255
// attachments share a load; attachments whose scopes overlap get loads of
// their own. The last Close of a load unloads it.
//
// Targets are tasks whose network namespace, cgroup v2 or mount namespace is
// in the [Scope]. Every other task pays one hash-map lookup per hook call.
//
// Socket filters ([Config].Ports, [Config].PeerCIDRs) narrow connect, bind,
// sendto and sendmsg to calls whose address matches, on every backend: the
// cgroup hooks read the sock_addr context, kprobe and fmod_ret the user
// sockaddr in the syscall's arguments (for sendmsg the msghdr's msg_name),
// LSM the kernel's copy of it. For bind the address compared is the local
// one being bound. They are evaluated only for targeted tasks. A call
// without an address (a send on a connected socket) or of another family
// than AF_INET and AF_INET6 never matches a filter, and a hook that sees no
// address fails nothing under one: a filter only ever narrows.
//
// All links are unpinned bpf_links owned by the attachments and their
// shared load: if the process dies, the kernel detaches everything.
package syscall
