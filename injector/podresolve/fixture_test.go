package podresolve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const (
	fixUID    = "3c7a1e2f-8d4b-4c6a-9e0f-1a2b3c4d5e6f"
	otherUID  = "99999999-8d4b-4c6a-9e0f-1a2b3c4d5e6f"
	pauseID   = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	appID     = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hostNetNS = 4026531840
	podNetNS  = 4026532001
)

// layout is one node's cgroup layout: how the kubelet, the cgroup driver and
// the runtime name a pod's cgroups.
type layout struct {
	name string
	// v2 is "" (pure v1), "root" (unified) or "unified" (hybrid).
	v2 string
	// lines returns /proc/PID/cgroup for a container of pod uid.
	lines func(uid, cid string) string
	// v2Pod returns the pod's cgroup v2 path (relative to the v2 root), or
	// "" when the layout has none.
	v2Pod func(uid string) string
	// v2Container returns a container's v2 path below the pod's.
	v2Container func(cid string) string
}

func us(uid string) string { return strings.ReplaceAll(uid, "-", "_") }

func v1Lines(path string) string {
	return fmt.Sprintf("12:memory:%[1]s\n11:pids:%[1]s\n4:cpu,cpuacct:%[1]s\n1:name=systemd:%[1]s\n", path)
}

var layouts = []layout{
	{
		name: "systemd/containerd/v2",
		v2:   "root",
		lines: func(uid, cid string) string {
			return "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice/cri-containerd-" + cid + ".scope\n"
		},
		v2Pod: func(uid string) string {
			return "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice"
		},
		v2Container: func(cid string) string { return "cri-containerd-" + cid + ".scope" },
	},
	{
		name: "systemd/crio/v2/burstable",
		v2:   "root",
		lines: func(uid, cid string) string {
			return "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us(uid) + ".slice/crio-" + cid + ".scope\n"
		},
		v2Pod: func(uid string) string {
			return "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us(uid) + ".slice"
		},
		v2Container: func(cid string) string { return "crio-" + cid + ".scope" },
	},
	{
		name: "systemd/docker/v2/guaranteed",
		v2:   "root",
		lines: func(uid, cid string) string {
			return "0::/kubepods.slice/kubepods-pod" + us(uid) + ".slice/docker-" + cid + ".scope\n"
		},
		v2Pod:       func(uid string) string { return "kubepods.slice/kubepods-pod" + us(uid) + ".slice" },
		v2Container: func(cid string) string { return "docker-" + cid + ".scope" },
	},
	{
		name: "cgroupfs/containerd/v2/burstable",
		v2:   "root",
		lines: func(uid, cid string) string {
			return "0::/kubepods/burstable/pod" + uid + "/" + cid + "\n"
		},
		v2Pod:       func(uid string) string { return "kubepods/burstable/pod" + uid },
		v2Container: func(cid string) string { return cid },
	},
	{
		name: "cgroupfs/containerd/v2/cgroupns-relative",
		v2:   "root",
		lines: func(uid, cid string) string {
			// As seen from an agent in its own cgroup namespace.
			return "0::/../../kubepods/besteffort/pod" + uid + "/" + cid + "\n"
		},
		v2Pod:       func(uid string) string { return "kubepods/besteffort/pod" + uid },
		v2Container: func(cid string) string { return cid },
	},
	{
		name: "systemd/containerd/v2/cgroupns-nested",
		v2:   "root",
		lines: func(uid, cid string) string {
			return "0::/../kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice/cri-containerd-" + cid + ".scope\n"
		},
		v2Pod: func(uid string) string {
			return "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice"
		},
		v2Container: func(cid string) string { return "cri-containerd-" + cid + ".scope" },
	},
	{
		name:  "cgroupfs/containerd/v1/besteffort",
		lines: func(uid, cid string) string { return v1Lines("/kubepods/besteffort/pod" + uid + "/" + cid) },
	},
	{
		name:  "cgroupfs/docker/v1/guaranteed",
		lines: func(uid, cid string) string { return v1Lines("/kubepods/pod" + uid + "/" + cid) },
	},
	{
		name: "systemd/containerd/v1",
		lines: func(uid, cid string) string {
			return v1Lines("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice/cri-containerd-" + cid + ".scope")
		},
	},
	{
		name: "systemd/containerd/hybrid",
		v2:   "unified",
		lines: func(uid, cid string) string {
			p := "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice/cri-containerd-" + cid + ".scope"
			return v1Lines(p) + "0::" + p + "\n"
		},
		v2Pod: func(uid string) string {
			return "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice"
		},
		v2Container: func(cid string) string { return "cri-containerd-" + cid + ".scope" },
	},
	{
		name: "cgroupfs/containerd/hybrid-v1-only",
		v2:   "unified",
		lines: func(uid, cid string) string {
			// The cgroupfs driver does not use the v2 hierarchy of a hybrid host.
			return v1Lines("/kubepods/besteffort/pod"+uid+"/"+cid) + "0::/\n"
		},
	},
}

// fixture is a fake /proc and /sys/fs/cgroup.
type fixture struct {
	proc, cgroup, v2root string
}

func newFixture(t *testing.T, v2 string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{proc: filepath.Join(dir, "proc"), cgroup: filepath.Join(dir, "sys/fs/cgroup")}
	mkdir(t, f.proc)
	mkdir(t, f.cgroup)
	switch v2 {
	case "root":
		f.v2root = f.cgroup
	case "unified":
		f.v2root = filepath.Join(f.cgroup, "unified")
	}
	if f.v2root != "" {
		mkdir(t, f.v2root)
		write(t, filepath.Join(f.v2root, "cgroup.controllers"), "cpu memory pids\n")
	}
	// PID 1 in the host namespaces, outside any pod.
	f.process(t, 1, "0::/init.scope\n", hostNetNS, 4026531841)
	return f
}

func (f *fixture) process(t *testing.T, pid int, cgroup string, netns, mntns uint64) {
	t.Helper()
	dir := filepath.Join(f.proc, fmt.Sprint(pid))
	mkdir(t, filepath.Join(dir, "ns"))
	write(t, filepath.Join(dir, "cgroup"), cgroup)
	symlink(t, fmt.Sprintf("net:[%d]", netns), filepath.Join(dir, "ns", "net"))
	symlink(t, fmt.Sprintf("mnt:[%d]", mntns), filepath.Join(dir, "ns", "mnt"))
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func inode(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestResolveLayouts(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			f := newFixture(t, l.v2)
			var podDir, appDir string
			if l.v2Pod != nil {
				podDir = filepath.Join(f.v2root, l.v2Pod(fixUID))
				appDir = filepath.Join(podDir, l.v2Container(appID))
				mkdir(t, filepath.Join(podDir, l.v2Container(pauseID)))
				mkdir(t, appDir)
			}
			// pause (PID 100) and app (PID 101, 102) share the pod netns;
			// 102 has its own mount namespace like 101. Another pod and a
			// host process are noise.
			f.process(t, 100, l.lines(fixUID, pauseID), podNetNS, 4026532100)
			f.process(t, 101, l.lines(fixUID, appID), podNetNS, 4026532101)
			f.process(t, 102, l.lines(fixUID, appID), podNetNS, 4026532101)
			f.process(t, 200, l.lines(otherUID, appID), 4026532200, 4026532201)
			f.process(t, 300, "0::/system.slice/containerd.service\n", hostNetNS, 4026531841)
			if strings.Contains(l.name, "crio") {
				// CRI-O's conmon sits in the pod's cgroup in host namespaces.
				conmon := strings.Replace(l.lines(fixUID, pauseID), "crio-"+pauseID, "crio-conmon-"+pauseID, 1)
				f.process(t, 99, conmon, hostNetNS, 4026531841)
			}

			r := &Resolver{ProcRoot: f.proc, CgroupRoot: f.cgroup}
			pod, err := r.Resolve(context.Background(), strings.ToUpper(fixUID))
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if got := len(pod.Processes); got != 3 {
				t.Fatalf("processes: got %d (%+v), want 3", got, pod.Processes)
			}
			if pod.NetNS != podNetNS || pod.NetNSPID != 100 || pod.HostNetwork {
				t.Errorf("netns: got %d via PID %d (host network %v), want %d via 100", pod.NetNS, pod.NetNSPID, pod.HostNetwork, podNetNS)
			}
			if want := filepath.Join(f.proc, "100/ns/net"); pod.NetNSPath() != want {
				t.Errorf("netns path: got %s, want %s", pod.NetNSPath(), want)
			}
			app := pod.Container("containerd://" + appID)
			if len(app) != 2 || app[0].PID != 101 || app[0].MntNS != 4026532101 {
				t.Errorf("container %s: got %+v", appID, app)
			}
			if l.v2Pod == nil {
				if pod.CgroupV2Dir != "" || app[0].CgroupV2Dir != "" {
					t.Errorf("cgroup v2: got pod %q container %q, want none", pod.CgroupV2Dir, app[0].CgroupV2Dir)
				}
				return
			}
			if pod.CgroupV2Dir != podDir || pod.CgroupID != inode(t, podDir) {
				t.Errorf("pod cgroup: got %s (%d), want %s (%d)", pod.CgroupV2Dir, pod.CgroupID, podDir, inode(t, podDir))
			}
			if app[0].CgroupV2Dir != appDir || app[0].CgroupID != inode(t, appDir) {
				t.Errorf("container cgroup: got %s (%d), want %s", app[0].CgroupV2Dir, app[0].CgroupID, appDir)
			}
		})
	}
}

func TestResolveHostNetworkAndMissing(t *testing.T) {
	f := newFixture(t, "root")
	l := layouts[0]
	f.process(t, 100, l.lines(fixUID, pauseID), hostNetNS, 4026532100)
	r := &Resolver{ProcRoot: f.proc, CgroupRoot: f.cgroup}
	pod, err := r.Resolve(context.Background(), fixUID)
	if err != nil {
		t.Fatal(err)
	}
	if !pod.HostNetwork {
		t.Errorf("a pod in PID 1's netns must be reported as host network")
	}
	if _, err := r.Resolve(context.Background(), otherUID); !errors.Is(err, ErrPodNotFound) {
		t.Errorf("missing pod: got %v, want ErrPodNotFound", err)
	}
}

func TestParseCgroupPath(t *testing.T) {
	for _, tc := range []struct {
		path, uid, cid string
		ok             bool
	}{
		{"/kubepods/besteffort/pod" + fixUID + "/" + appID, fixUID, appID, true},
		{"/kubepods/pod" + fixUID, fixUID, "", true},
		{"/kubepods.slice/kubepods-pod" + us(fixUID) + ".slice/cri-containerd-" + appID + ".scope", fixUID, appID, true},
		{"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + us(fixUID) + ".slice/cri-containerd-" + appID + ".scope", fixUID, appID, true},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us(fixUID) + ".slice/crio-" + appID + ".scope/container", fixUID, appID, true},
		{"/system.slice/pod" + fixUID, "", "", false}, // not below kubepods
		{"/user.slice/user-0.slice", "", "", false},
		{"/", "", "", false},
	} {
		ref, ok := ParseCgroupPath(tc.path)
		if ok != tc.ok || ref.PodUID != tc.uid || ref.ContainerID != tc.cid {
			t.Errorf("%s: got %+v %v, want uid %q cid %q %v", tc.path, ref, ok, tc.uid, tc.cid, tc.ok)
		}
	}
	for in, want := range map[string]string{"containerd://ABC": "abc", "cri-o://abc": "abc", "docker://abc": "abc", "abc": "abc"} {
		if got := NormalizeContainerID(in); got != want {
			t.Errorf("NormalizeContainerID(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHostNetworkUnknownFailsClosed: when PID 1's network namespace cannot
// be read, no pod can be told apart from the node, so every pod must count
// as host network (and network faults be refused), never the reverse.
func TestHostNetworkUnknownFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break1 func(t *testing.T, f *fixture)
	}{
		{"no ns/net link", func(t *testing.T, f *fixture) {
			if err := os.Remove(filepath.Join(f.proc, "1", "ns", "net")); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbled ns/net link", func(t *testing.T, f *fixture) {
			link := filepath.Join(f.proc, "1", "ns", "net")
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			symlink(t, "net:garbage", link)
		}},
		{"no PID 1", func(t *testing.T, f *fixture) {
			if err := os.RemoveAll(filepath.Join(f.proc, "1")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "root")
			tc.break1(t, f)
			f.process(t, 100, layouts[0].lines(fixUID, pauseID), podNetNS, 4026532100)
			r := &Resolver{ProcRoot: f.proc, CgroupRoot: f.cgroup}
			pod, err := r.Resolve(context.Background(), fixUID)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if !pod.HostNetwork {
				t.Errorf("the node's network namespace is unknown: the pod must count as host network")
			}
			if pod.HostNetworkErr == nil {
				t.Errorf("no reason given for counting the pod as host network")
			}
		})
	}
}

// TestConmonOutOfScope: CRI-O's conmon lives in crio-conmon-<id>.scope
// inside the pod's cgroup, in the node's namespaces. No target key may come
// from it: not its namespaces, and no cgroup directory whose subtree holds
// its cgroup.
func TestConmonOutOfScope(t *testing.T) {
	for _, l := range layouts {
		if !strings.Contains(l.name, "crio") {
			continue
		}
		t.Run(l.name, func(t *testing.T) {
			f := newFixture(t, l.v2)
			podDir := filepath.Join(f.v2root, l.v2Pod(fixUID))
			conmonDir := filepath.Join(podDir, "crio-conmon-"+appID+".scope")
			for _, d := range []string{filepath.Join(podDir, l.v2Container(pauseID)), filepath.Join(podDir, l.v2Container(appID)), conmonDir} {
				mkdir(t, d)
			}
			f.process(t, 100, l.lines(fixUID, pauseID), podNetNS, 4026532100)
			f.process(t, 101, l.lines(fixUID, appID), podNetNS, 4026532101)
			conmon := strings.Replace(l.lines(fixUID, appID), "crio-"+appID, "crio-conmon-"+appID, 1)
			f.process(t, 99, conmon, hostNetNS, 4026531841)

			r := &Resolver{ProcRoot: f.proc, CgroupRoot: f.cgroup}
			pod, err := r.Resolve(context.Background(), fixUID)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pod.Processes {
				if p.PID == 99 || p.NetNS == hostNetNS || p.MntNS == 4026531841 {
					t.Errorf("conmon's process or namespaces are part of the pod: %+v", p)
				}
			}
			dirs, err := pod.SyscallCgroupDirs()
			if err != nil {
				t.Fatal(err)
			}
			if len(dirs) != 2 {
				t.Errorf("scope directories: got %v, want the two containers'", dirs)
			}
			for _, d := range dirs {
				if rel, err := filepath.Rel(d, conmonDir); err == nil && !strings.HasPrefix(rel, "..") {
					t.Errorf("scope directory %s holds conmon's cgroup %s in its subtree", d, conmonDir)
				}
			}
		})
	}
}

// TestOpenNSRefusesNonNamespace: a file with the right inode number that is
// not a namespace (a forged /proc root) is refused.
func TestOpenNSRefusesNonNamespace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net")
	write(t, path, "")
	if f, err := openNS(path, inode(t, path)); err == nil {
		f.Close()
		t.Fatalf("a regular file was accepted as a namespace")
	}
}
