package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// CgroupV2Root returns where the cgroup v2 hierarchy is mounted
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts), skipping the
// test (failing it in CI) when there is none.
func CgroupV2Root(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		tb.Fatalf("open mountinfo: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, field := range fields {
			if field == "-" && i+1 < len(fields) && i >= 5 {
				if fields[i+1] == "cgroup2" {
					return fields[4]
				}
				break
			}
		}
	}
	Skip(tb, "no cgroup v2 hierarchy mounted")
	return ""
}

// Cgroup is a cgroup v2 directory created for one test.
type Cgroup struct {
	// Path is the directory.
	Path string
	// ID is the cgroup id (the directory's inode), as returned by
	// bpf_get_current_cgroup_id for its tasks.
	ID uint64
}

// NewCgroup creates a fresh cgroup v2 directory under the v2 root and removes
// it when the test ends; tasks still in it must have exited by then (it
// retries for a few seconds while they are reaped).
func NewCgroup(tb testing.TB) *Cgroup {
	tb.Helper()
	root := CgroupV2Root(tb)
	dir, err := os.MkdirTemp(root, "temblor-test-")
	if err != nil {
		tb.Fatalf("create cgroup: %v", err)
	}
	tb.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := unix.Rmdir(dir)
			if err == nil || errors.Is(err, unix.ENOENT) {
				return
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				tb.Errorf("remove cgroup %s: %v", dir, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		tb.Fatalf("stat cgroup %s: %v", dir, err)
	}
	return &Cgroup{Path: dir, ID: st.Ino}
}

// Open returns a descriptor of the cgroup directory, for
// syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd} (clone3 with
// CLONE_INTO_CGROUP: the child starts in the cgroup, with no window outside
// it). The descriptor is closed when the test ends.
func (c *Cgroup) Open(tb testing.TB) int {
	tb.Helper()
	fd, err := unix.Open(c.Path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("open cgroup %s: %v", c.Path, err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	return fd
}

// SelfCgroupV2 returns the cgroup v2 directory of the calling process.
func SelfCgroupV2(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		tb.Fatalf("read /proc/self/cgroup: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(CgroupV2Root(tb), rest)
		}
	}
	tb.Fatalf("no cgroup v2 entry in /proc/self/cgroup: %q", data)
	return ""
}

// String describes the cgroup for logs.
func (c *Cgroup) String() string { return fmt.Sprintf("%s (id %d)", c.Path, c.ID) }
