// Package podresolve finds a pod's processes on the node and their kernel
// identities (network and mount namespace inodes, cgroup v2 directory and
// id) without a container runtime socket: it scans /proc/*/cgroup for the
// pod UID, which the kubelet puts in every cgroup path it creates, under both
// the systemd and the cgroupfs cgroup drivers, for containerd, CRI-O and
// Docker, on cgroup v1, v2 and hybrid hosts.
//
// The proc root and the cgroup root are configurable so that tests can point
// the resolver at fixture trees.
package podresolve
