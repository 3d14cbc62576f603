// Package podresolvetest creates fake pods on the test machine: real
// processes in cgroup v2 directories shaped like the kubelet's cgroupfs
// layout (…/kubepods/besteffort/pod<uid>/<container id>) and in a network
// namespace of their own, so that pod resolution and injection can be tested
// without a kubelet or a container runtime.
package podresolvetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TB is the part of testing.TB the helpers use; GinkgoT() satisfies it too.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Pod is a fake pod: a pause process in a fresh network namespace (or a
// given one) and an app process sharing it, each in its container's cgroup.
type Pod struct {
	// UID is the pod UID.
	UID string
	// Dir is the pod's cgroup v2 directory.
	Dir string
	// PauseID and AppID are the container IDs.
	PauseID, AppID string
	// PausePID and AppPID are the processes.
	PausePID, AppPID int
	// NetNSPath is /proc/<pause>/ns/net.
	NetNSPath string

	procs []*exec.Cmd
}

// Options shape a fake pod.
type Options struct {
	// NetNS is a network namespace path to run the pod in; empty creates a
	// fresh namespace (with only lo).
	NetNS string
}

// Root creates a directory for fake pods under the cgroup v2 root (passed by
// the caller, e.g. from testutil.CgroupV2Root) and removes it at the end.
func Root(tb TB, v2root string) string {
	tb.Helper()
	dir := filepath.Join(v2root, fmt.Sprintf("temblor-test-%d-%s", os.Getpid(), randHex(4)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatalf("create fake pod root: %v", err)
	}
	tb.Cleanup(func() { removeTree(tb, dir) })
	return dir
}

// New starts a fake pod below root (from Root). It is stopped and its cgroups
// removed when the test ends.
func New(tb TB, root string, opts Options) *Pod {
	tb.Helper()
	p := &Pod{UID: newUID(), PauseID: randHex(32), AppID: randHex(32)}
	p.Dir = filepath.Join(root, "kubepods", "besteffort", "pod"+p.UID)
	for _, c := range []string{p.PauseID, p.AppID} {
		if err := os.MkdirAll(filepath.Join(p.Dir, c), 0o755); err != nil {
			tb.Fatalf("create fake pod cgroup: %v", err)
		}
	}
	tb.Cleanup(func() { p.Stop(tb) })

	var pause *exec.Cmd
	if opts.NetNS == "" {
		pause = exec.Command("sleep", "3600")
		pause.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET}
	} else {
		pause = exec.Command("nsenter", "--net="+opts.NetNS, "sleep", "3600")
		pause.SysProcAttr = &syscall.SysProcAttr{}
	}
	p.PausePID = p.start(tb, pause, p.PauseID)
	p.NetNSPath = fmt.Sprintf("/proc/%d/ns/net", p.PausePID)
	// nsenter execs sleep, keeping the PID; wait until the namespace is set.
	waitNetNS(tb, p.PausePID, opts.NetNS)
	app := exec.Command("nsenter", "--net="+p.NetNSPath, "sleep", "3600")
	app.SysProcAttr = &syscall.SysProcAttr{}
	p.AppPID = p.start(tb, app, p.AppID)
	waitNetNS(tb, p.AppPID, p.NetNSPath)
	return p
}

// ContainerDir returns the cgroup v2 directory of a container of the pod.
func (p *Pod) ContainerDir(id string) string { return filepath.Join(p.Dir, id) }

// Command prepares cmd to start in the app container's cgroup (clone3 with
// CLONE_INTO_CGROUP); the caller starts and waits for it. The descriptor is
// closed when the test ends.
func (p *Pod) Command(tb TB, cmd *exec.Cmd) *exec.Cmd {
	tb.Helper()
	return p.CommandIn(tb, cmd, p.AppID)
}

// CommandIn is Command for the container with this ID.
func (p *Pod) CommandIn(tb TB, cmd *exec.Cmd, containerID string) *exec.Cmd {
	tb.Helper()
	fd := openDir(tb, p.ContainerDir(containerID))
	tb.Cleanup(func() { unix.Close(fd) })
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	return cmd
}

// Stop kills the pod's processes and removes its cgroups; a stopped pod is
// gone from the node. It is safe to call twice.
func (p *Pod) Stop(tb TB) {
	tb.Helper()
	for _, c := range p.procs {
		if c.Process != nil {
			c.Process.Kill()
			c.Wait()
		}
	}
	p.procs = nil
	removeTree(tb, p.Dir)
}

func (p *Pod) start(tb TB, cmd *exec.Cmd, container string) int {
	tb.Helper()
	fd := openDir(tb, p.ContainerDir(container))
	defer unix.Close(fd)
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start fake pod process %v: %v", cmd.Args, err)
	}
	p.procs = append(p.procs, cmd)
	return cmd.Process.Pid
}

func openDir(tb TB, dir string) int {
	tb.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("open cgroup %s: %v", dir, err)
	}
	return fd
}

// waitNetNS waits until pid's network namespace is that of nsPath (or, with
// an empty nsPath, differs from ours).
func waitNetNS(tb TB, pid int, nsPath string) {
	tb.Helper()
	want := ""
	if nsPath != "" {
		want, _ = os.Readlink(nsPath)
	}
	self, _ := os.Readlink("/proc/self/ns/net")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err == nil && ((want != "" && got == want) || (want == "" && got != self)) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("process %d did not enter network namespace %q", pid, nsPath)
}

// removeTree removes a cgroup tree bottom-up, retrying while exiting tasks
// are reaped.
func removeTree(tb TB, dir string) {
	var dirs []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := unix.Rmdir(dirs[i])
			if err == nil || errors.Is(err, unix.ENOENT) {
				break
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				tb.Errorf("remove cgroup %s: %v", dirs[i], err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func newUID() string {
	h := randHex(16)
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// RestartContainer does what the kubelet does when a container restarts:
// the old container's processes die and its cgroup goes, and a new
// container (new ID, new cgroup) runs sleep in network namespace nsPath
// (empty: the pod's current one). It returns the new container's ID and
// PID, and updates PauseID/PausePID or AppID/AppPID when it replaced one of
// them. Restarting the pause container in a new namespace is a recreated
// sandbox.
func (p *Pod) RestartContainer(tb TB, oldID, nsPath string) (string, int) {
	tb.Helper()
	return p.RestartContainerWith(tb, oldID, nsPath, nil)
}

// RestartContainerWith is RestartContainer calling created with the new
// container's ID before its cgroup and process exist, as a runtime records
// a container before it starts it.
func (p *Pod) RestartContainerWith(tb TB, oldID, nsPath string, created func(id string)) (string, int) {
	tb.Helper()
	if nsPath == "" {
		nsPath = p.NetNSPath
	}
	newID := randHex(32)
	if created != nil {
		created(newID)
	}
	if err := os.Mkdir(p.ContainerDir(newID), 0o755); err != nil {
		tb.Fatalf("create fake container cgroup: %v", err)
	}
	// Resolve the namespace before its holder dies.
	ns, err := os.Open(nsPath)
	if err != nil {
		tb.Fatalf("open network namespace %s: %v", nsPath, err)
	}
	defer ns.Close()
	for _, c := range p.procs {
		if c.Process != nil && p.containerOf(c.Process.Pid) == oldID {
			c.Process.Kill()
			c.Wait()
		}
	}
	removeTree(tb, p.ContainerDir(oldID))
	// nsenter joins the namespace through the inherited descriptor (fd 3)
	// and execs sleep, keeping its PID.
	cmd := exec.Command("nsenter", "--net=/proc/self/fd/3", "sleep", "3600")
	cmd.ExtraFiles = []*os.File{ns}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	pid := p.start(tb, cmd, newID)
	waitNetNSInode(tb, pid, ns)
	switch oldID {
	case p.PauseID:
		p.PauseID, p.PausePID = newID, pid
		p.NetNSPath = fmt.Sprintf("/proc/%d/ns/net", pid)
	case p.AppID:
		p.AppID, p.AppPID = newID, pid
	}
	return newID, pid
}

// containerOf returns the container ID whose cgroup holds pid, or "".
func (p *Pod) containerOf(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Base(path)
		}
	}
	return ""
}

// waitNetNSInode waits until pid is in the network namespace ns.
func waitNetNSInode(tb TB, pid int, ns *os.File) {
	tb.Helper()
	var want unix.Stat_t
	if err := unix.Fstat(int(ns.Fd()), &want); err != nil {
		tb.Fatalf("stat network namespace: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err == nil && st.Ino == want.Ino {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("process %d did not enter network namespace %d", pid, want.Ino)
}
