package podresolve

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenNetNS opens the pod's network namespace through NetNSPID and checks
// that it is the namespace resolved: an nsfs file whose inode is NetNS. The
// process may have exited and its PID been reused since the snapshot, or the
// namespace been freed and its inode given to a new one: both are refused.
// The caller owns the file; holding it keeps the namespace (and its inode)
// alive.
func (p *Pod) OpenNetNS() (*os.File, error) {
	return openNS(p.NetNSPath(), p.NetNS)
}

// openNS opens the namespace link path and checks it is an nsfs file with
// inode want.
func openNS(path string, want uint64) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", path, err)
	}
	if err := checkNS(f, want); err != nil {
		f.Close()
		return nil, fmt.Errorf("open namespace %s: %w", path, err)
	}
	return f, nil
}

func checkNS(f *os.File, want uint64) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("not a namespace file (filesystem type %#x)", fs.Type)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Ino != want {
		return fmt.Errorf("namespace is inode %d, not the resolved %d: the process changed since it was resolved", st.Ino, want)
	}
	return nil
}
