package podresolve

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

// Process is one process of a pod.
type Process struct {
	// PID is the process ID in the node's PID namespace.
	PID int
	// ContainerID is the container the process runs in (hex, no runtime
	// prefix), or empty for a process in the pod's own cgroup.
	ContainerID string
	// NetNS and MntNS are the inodes of the process's network and mount
	// namespaces.
	NetNS, MntNS uint64
	// CgroupV2Dir is the container's cgroup v2 directory and CgroupID its
	// id, when the process's cgroup v2 path names the container.
	CgroupV2Dir string
	CgroupID    uint64
}

// Pod is a pod's processes and the kernel identities derived from them.
type Pod struct {
	// UID is the pod's UID.
	UID string
	// Processes are the pod's live processes, by PID.
	Processes []Process
	// NetNS is the inode of the pod's network namespace: the one most of its
	// processes share (the pause container's), the lowest PID breaking ties.
	NetNS uint64
	// NetNSPID is a process in NetNS, through which the namespace is entered.
	NetNSPID int
	// HostNetwork is true when NetNS is the node's (PID 1's) network
	// namespace: the pod runs with hostNetwork and has no namespace of its
	// own to inject into.
	HostNetwork bool
	// HostNetworkErr is set, with HostNetwork, when the node's network
	// namespace could not be read: the pod cannot be told apart from the
	// node, so it counts as host network.
	HostNetworkErr error
	// CgroupV2Dir is the pod's cgroup v2 directory and CgroupID its id, or
	// empty when the pod has no cgroup v2 directory (pure cgroup v1, or the
	// cgroupfs driver on a hybrid host).
	CgroupV2Dir string
	CgroupID    uint64
	// ConmonCgroupDirs are CRI-O's conmon cgroups found below CgroupV2Dir:
	// conmon is no part of the pod, so no scope may hold them.
	ConmonCgroupDirs []string
	// conmonUnknown is set when CgroupV2Dir could not be listed: it may
	// hold conmon.
	conmonUnknown bool

	procRoot string
}

// NetNSPath is the path through which the pod's network namespace is
// entered: <proc>/<pid>/ns/net.
func (p *Pod) NetNSPath() string {
	return filepath.Join(p.procRoot, strconv.Itoa(p.NetNSPID), "ns", "net")
}

// Container returns the processes of the container with this ID (with or
// without a "containerd://"-style prefix).
func (p *Pod) Container(id string) []Process {
	id = NormalizeContainerID(id)
	var out []Process
	for _, proc := range p.Processes {
		if proc.ContainerID == id {
			out = append(out, proc)
		}
	}
	return out
}

// pickNetNS sets NetNS to the namespace most processes share, and
// HostNetwork when that is the node's or the node's is unknown (hostErr).
func (p *Pod) pickNetNS(hostNetNS uint64, hostErr error) {
	sort.Slice(p.Processes, func(i, j int) bool { return p.Processes[i].PID < p.Processes[j].PID })
	count := map[uint64]int{}
	for _, proc := range p.Processes {
		count[proc.NetNS]++
	}
	best := -1
	for _, proc := range p.Processes { // by PID: the lowest wins ties
		if count[proc.NetNS] > best {
			best, p.NetNS, p.NetNSPID = count[proc.NetNS], proc.NetNS, proc.PID
		}
	}
	p.HostNetwork = hostErr != nil || hostNetNS == 0 || p.NetNS == hostNetNS
	p.HostNetworkErr = hostErr
	if hostErr == nil && hostNetNS == 0 {
		p.HostNetworkErr = errors.New("cannot tell whether the pod uses the node's network namespace: PID 1's reads as inode 0")
	}
}

// dirInode returns the inode of a directory: the cgroup id of a cgroup v2
// directory.
func dirInode(dir string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return 0, fmt.Errorf("stat cgroup %s: %w", dir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return 0, fmt.Errorf("cgroup %s: not a directory", dir)
	}
	return st.Ino, nil
}
