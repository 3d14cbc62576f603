package podresolve

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeProc writes pid's comm and a net namespace link under root.
func fakeProc(t *testing.T, root string, pid, comm, netLink string) {
	t.Helper()
	dir := filepath.Join(root, pid, "ns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, pid, "comm"), []byte(comm+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if netLink != "" {
		if err := os.Symlink(netLink, filepath.Join(dir, "net")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHostNetNSFallback: a sandboxed PID 1 whose link cannot be read falls
// back to kthreadd's namespace, and only to kthreadd's: a PID 2 that is not
// kthreadd leaves the node's namespace unknown (and the guard closed).
func TestHostNetNSFallback(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, "1", "process_api", "")
	fakeProc(t, root, "2", "kthreadd", "net:[4026531833]")
	r := &Resolver{ProcRoot: root}
	ino, err := r.hostNetNS()
	if err != nil || ino != 4026531833 {
		t.Fatalf("fallback to kthreadd: got %d, %v; want 4026531833", ino, err)
	}

	other := t.TempDir()
	fakeProc(t, other, "1", "process_api", "")
	fakeProc(t, other, "2", "sh", "net:[4026532000]")
	if ino, err := (&Resolver{ProcRoot: other}).hostNetNS(); err == nil {
		t.Fatalf("PID 2 is not kthreadd: want an error (fail closed), got inode %d", ino)
	}

	first := t.TempDir()
	fakeProc(t, first, "1", "systemd", "net:[4026531840]")
	fakeProc(t, first, "2", "kthreadd", "net:[4026531833]")
	if ino, err := (&Resolver{ProcRoot: first}).hostNetNS(); err != nil || ino != 4026531840 {
		t.Fatalf("readable PID 1: got %d, %v; want PID 1's 4026531840", ino, err)
	}
}
