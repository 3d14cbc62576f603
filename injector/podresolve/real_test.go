package podresolve_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/injector/podresolve"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// TestResolveRealProcesses resolves real processes placed in cgroups shaped
// like the kubelet's cgroupfs layout under the host's cgroup v2 hierarchy, in
// a fresh network namespace.
func TestResolveRealProcesses(t *testing.T) {
	testutil.RequireRoot(t)
	v2 := testutil.CgroupV2Root(t)
	root := podresolvetest.Root(t, v2)
	pod := podresolvetest.New(t, root, podresolvetest.Options{})
	other := podresolvetest.New(t, root, podresolvetest.Options{})

	// The resolver's cgroup root is the parent of the v2 mount on hybrid
	// hosts and the mount itself on unified ones.
	cgroupRoot := v2
	if filepath.Base(v2) == "unified" {
		cgroupRoot = filepath.Dir(v2)
	}
	// This test process runs in the node's network namespace; PID 1's may
	// be unreadable in a sandbox (and then every pod counts as host network).
	r := &podresolve.Resolver{CgroupRoot: cgroupRoot, HostNetNSPath: "/proc/self/ns/net"}
	if got := r.CgroupV2Root(); got != v2 {
		t.Fatalf("cgroup v2 root: got %q, want %q", got, v2)
	}
	start := time.Now()
	snap, err := r.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scanned /proc in %s", time.Since(start))
	got, err := snap.Pod(pod.UID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Processes) != 2 || got.Processes[0].PID != pod.PausePID || got.Processes[1].PID != pod.AppPID {
		t.Fatalf("processes: got %+v, want pause %d and app %d", got.Processes, pod.PausePID, pod.AppPID)
	}
	wantNS, err := podresolve.ReadNS(pod.NetNSPath)
	if err != nil {
		t.Fatal(err)
	}
	selfNS, _ := podresolve.ReadNS("/proc/self/ns/net")
	if got.NetNS != wantNS || got.NetNS == selfNS || got.HostNetwork {
		t.Errorf("netns: got %d (host network %v), want %d", got.NetNS, got.HostNetwork, wantNS)
	}
	if got.CgroupV2Dir != pod.Dir {
		t.Errorf("pod cgroup dir: got %q, want %q", got.CgroupV2Dir, pod.Dir)
	}
	app := got.Container("containerd://" + pod.AppID)
	if len(app) != 1 || app[0].CgroupV2Dir != pod.ContainerDir(pod.AppID) || app[0].CgroupID == 0 {
		t.Errorf("app container: got %+v", app)
	}
	if o, err := snap.Pod(other.UID); err != nil || o.NetNS == got.NetNS {
		t.Errorf("other pod: %+v, %v", o, err)
	}

	pod.Stop(t)
	if _, err := r.Resolve(context.Background(), pod.UID); err == nil || !strings.Contains(err.Error(), podresolve.ErrPodNotFound.Error()) {
		t.Errorf("stopped pod: got %v, want not found", err)
	}
}
