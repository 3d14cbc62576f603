// Package local runs a Temblor Fault against a local command, with no
// cluster: the engine behind `temblorctl exec` and package temblortest.
//
// A syscall fault gets a fresh cgroup v2 directory; the fault is attached to
// it before the command starts, and the command is cloned straight into it
// (clone3 with CLONE_INTO_CGROUP), so no call of the command escapes it.
//
// A network fault gets a fresh network namespace joined to the host by a veth
// pair: the host end tbx<N> is 10.213.<N>.1/30, the namespace end eth0 is
// 10.213.<N>.2/30 with the default route through the host end. There is no
// NAT and forwarding is disabled on the host end, so no traffic of the
// command leaves the machine. The command reaches services on the host at
// the address in TEMBLOR_HOST_ADDR. An existing namespace can be used instead.
//
// Everything created is removed by Session.Close: programs and links, the
// cgroup directory, the veth pair and the namespace.
package local
