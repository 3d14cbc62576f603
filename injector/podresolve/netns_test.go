package podresolve_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/temblor-dev/temblor/injector/podresolve"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// TestOpenNetNSChecksIdentity: a namespace opened through a PID must be the
// one resolved (inode and nsfs), since the PID may have exited and been
// reused, or the inode reused by a new namespace, since the snapshot.
func TestOpenNetNSChecksIdentity(t *testing.T) {
	testutil.RequireRoot(t)
	v2 := testutil.CgroupV2Root(t)
	root := podresolvetest.Root(t, v2)
	fake := podresolvetest.New(t, root, podresolvetest.Options{})
	cgroupRoot := v2
	if filepath.Base(v2) == "unified" {
		cgroupRoot = filepath.Dir(v2)
	}
	r := &podresolve.Resolver{CgroupRoot: cgroupRoot, HostNetNSPath: "/proc/self/ns/net"}
	pod, err := r.Resolve(context.Background(), fake.UID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := pod.OpenNetNS()
	if err != nil {
		t.Fatalf("open the resolved namespace: %v", err)
	}
	f.Close()

	// The PID now names another namespace than the one resolved.
	pod.NetNS++
	if f, err := pod.OpenNetNS(); err == nil {
		f.Close()
		t.Errorf("a namespace whose inode is not the resolved one was opened")
	}
	pod.NetNS--

	// The process exited.
	fake.Stop(t)
	if f, err := pod.OpenNetNS(); err == nil {
		f.Close()
		t.Errorf("the namespace of an exited process was opened")
	}
}
