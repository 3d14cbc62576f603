package podresolve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Default roots on a node.
const (
	DefaultProcRoot   = "/proc"
	DefaultCgroupRoot = "/sys/fs/cgroup"
)

// ErrPodNotFound means no live process of the pod was found on the node.
var ErrPodNotFound = errors.New("no process of the pod on this node")

// Resolver finds pods' processes under ProcRoot and their cgroup v2
// directories under CgroupRoot. Its zero value uses the node's real roots.
type Resolver struct {
	// ProcRoot is where procfs is mounted (default /proc). The agent runs
	// with hostPID, so this is the node's process table.
	ProcRoot string
	// CgroupRoot is where the cgroup filesystems are mounted (default
	// /sys/fs/cgroup). The cgroup v2 hierarchy is CgroupRoot itself on
	// unified hosts and CgroupRoot/unified on hybrid ones.
	CgroupRoot string
	// HostNetNSPath is a link to the node's network namespace, against
	// which pods are told host network. By default PID 1's link, or, when
	// that cannot be read (a sandboxed init), kthreadd's (PID 2): kernel
	// threads always run in the initial network namespace, the node's.
	// When neither can be read every pod counts as host network.
	HostNetNSPath string
}

// hostNetNS returns the inode of the node's network namespace.
func (r *Resolver) hostNetNS() (uint64, error) {
	if r.HostNetNSPath != "" {
		return nsInode(r.HostNetNSPath)
	}
	ino, err := nsInode(filepath.Join(r.procRoot(), "1", "ns", "net"))
	if err == nil {
		return ino, nil
	}
	ino, err2 := nsInode(filepath.Join(r.procRoot(), "2", "ns", "net"))
	if err2 == nil && r.isKthreadd(2) {
		return ino, nil
	}
	return 0, errors.Join(err, err2)
}

// isKthreadd reports whether pid is the kernel thread spawner, whose
// network namespace is always the initial one.
func (r *Resolver) isKthreadd(pid int) bool {
	comm, err := os.ReadFile(filepath.Join(r.procRoot(), strconv.Itoa(pid), "comm"))
	return err == nil && strings.TrimSpace(string(comm)) == "kthreadd"
}

func (r *Resolver) procRoot() string {
	if r.ProcRoot == "" {
		return DefaultProcRoot
	}
	return r.ProcRoot
}

func (r *Resolver) cgroupRoot() string {
	if r.CgroupRoot == "" {
		return DefaultCgroupRoot
	}
	return r.CgroupRoot
}

// CgroupV2Root returns the directory of the cgroup v2 hierarchy below
// CgroupRoot (the directory holding cgroup.controllers), or "" on a pure
// cgroup v1 host.
func (r *Resolver) CgroupV2Root() string {
	root := r.cgroupRoot()
	for _, dir := range []string{root, filepath.Join(root, "unified")} {
		if _, err := os.Stat(filepath.Join(dir, "cgroup.controllers")); err == nil {
			return dir
		}
	}
	return ""
}

// Snapshot reads the cgroup membership of every process once, so that many
// pods can be resolved from one scan of /proc.
func (r *Resolver) Snapshot(ctx context.Context) (*Snapshot, error) {
	proc := r.procRoot()
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil, fmt.Errorf("list processes in %s: %w", proc, err)
	}
	s := &Snapshot{r: r, v2root: r.CgroupV2Root(), pods: map[string]*Pod{}}
	// The hostNetwork guard needs the node's namespace: without it, every
	// pod counts as host network (fail closed), never the reverse.
	if s.hostNetNS, err = r.hostNetNS(); err != nil {
		s.hostNetErr = fmt.Errorf("cannot tell whether the pod uses the node's network namespace: %w", err)
	}
	for i, e := range entries {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("scan %s: %w", proc, err)
			}
		}
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if err := s.addProcess(pid); err != nil {
			return nil, err
		}
	}
	for _, p := range s.pods {
		p.pickNetNS(s.hostNetNS, s.hostNetErr)
		p.findConmon()
	}
	return s, nil
}

// Resolve scans /proc and returns the pod with this UID.
func (r *Resolver) Resolve(ctx context.Context, podUID string) (*Pod, error) {
	s, err := r.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s.Pod(podUID)
}

// Snapshot is the pods found by one scan of /proc.
type Snapshot struct {
	r         *Resolver
	v2root    string
	hostNetNS uint64
	// hostNetErr is why hostNetNS is unknown.
	hostNetErr error
	pods       map[string]*Pod
}

// Pod returns the pod with this UID, or an error wrapping ErrPodNotFound.
func (s *Snapshot) Pod(podUID string) (*Pod, error) {
	p, ok := s.pods[strings.ToLower(podUID)]
	if !ok || len(p.Processes) == 0 {
		return nil, fmt.Errorf("resolve pod %s: %w", podUID, ErrPodNotFound)
	}
	return p, nil
}

// PodUIDs returns the UIDs of every pod found.
func (s *Snapshot) PodUIDs() []string {
	out := make([]string, 0, len(s.pods))
	for uid := range s.pods {
		out = append(out, uid)
	}
	return out
}

// addProcess reads one process's cgroups and, if it belongs to a pod, its
// namespaces. A process that exits meanwhile is skipped.
func (s *Snapshot) addProcess(pid int) error {
	dir := filepath.Join(s.r.procRoot(), strconv.Itoa(pid))
	data, err := os.ReadFile(filepath.Join(dir, "cgroup"))
	if err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("read cgroups of process %d: %w", pid, err)
	}
	ref, v2path, ok := parseProcCgroup(data)
	if !ok || ref.Conmon {
		return nil
	}
	proc := Process{PID: pid, ContainerID: ref.ContainerID}
	if proc.NetNS, err = nsInode(filepath.Join(dir, "ns", "net")); err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("read network namespace of process %d: %w", pid, err)
	}
	if proc.MntNS, err = nsInode(filepath.Join(dir, "ns", "mnt")); err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("read mount namespace of process %d: %w", pid, err)
	}
	p := s.pods[ref.PodUID]
	if p == nil {
		p = &Pod{UID: ref.PodUID, procRoot: s.r.procRoot()}
		s.pods[ref.PodUID] = p
	}
	if v2path != "" && s.v2root != "" {
		if v2ref, ok := ParseCgroupPath(v2path); ok && v2ref.PodUID == ref.PodUID {
			if p.CgroupV2Dir == "" {
				if d, id, err := s.v2Dir(v2ref.PodPath); err == nil {
					p.CgroupV2Dir, p.CgroupID = d, id
				}
			}
			if v2ref.ContainerPath != "" {
				if d, id, err := s.v2Dir(v2ref.ContainerPath); err == nil {
					proc.CgroupV2Dir, proc.CgroupID = d, id
				}
			}
		}
	}
	p.Processes = append(p.Processes, proc)
	return nil
}

// v2Dir maps a cgroup path from /proc/PID/cgroup to its directory in the
// v2 hierarchy and the cgroup id (the directory's inode). Paths relative to
// another cgroup namespace ("/../../kubepods.slice/…") are tried from the
// kubepods segment on.
func (s *Snapshot) v2Dir(path string) (string, uint64, error) {
	var candidates []string
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for len(segs) > 0 && segs[0] == ".." {
		segs = segs[1:]
	}
	candidates = append(candidates, filepath.Join(append([]string{s.v2root}, segs...)...))
	for i, seg := range segs {
		if i > 0 && strings.HasPrefix(seg, "kubepods") {
			candidates = append(candidates, filepath.Join(append([]string{s.v2root}, segs[i:]...)...))
			break
		}
	}
	var lastErr error
	for _, c := range candidates {
		id, err := dirInode(c)
		if err == nil {
			return c, id, nil
		}
		lastErr = err
	}
	return "", 0, lastErr
}

// parseProcCgroup reads /proc/PID/cgroup. It returns the pod reference from
// the cgroup v2 line when that names a pod, else from the first v1 line that
// does, and the v2 line's path.
func parseProcCgroup(data []byte) (ref CgroupRef, v2path string, ok bool) {
	var v1ref CgroupRef
	var v1ok bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2path = parts[2]
			if r, found := ParseCgroupPath(parts[2]); found {
				ref, ok = r, true
			}
			continue
		}
		if !v1ok {
			v1ref, v1ok = ParseCgroupPath(parts[2])
		}
	}
	if ok {
		return ref, v2path, true
	}
	return v1ref, v2path, v1ok
}

// nsInode reads the inode of a namespace link such as /proc/PID/ns/net,
// whose target reads "net:[4026531992]".
func nsInode(link string) (uint64, error) {
	target, err := os.Readlink(link)
	if err != nil {
		return 0, err
	}
	open, close := strings.IndexByte(target, '['), strings.LastIndexByte(target, ']')
	if open < 0 || close <= open {
		return 0, fmt.Errorf("namespace link %s: unexpected target %q", link, target)
	}
	ino, err := strconv.ParseUint(target[open+1:close], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("namespace link %s: %w", link, err)
	}
	return ino, nil
}

// gone reports whether err means the process exited while being read.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrProcessDone) || strings.Contains(err.Error(), "no such process")
}
