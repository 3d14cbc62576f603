package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// cgroupDir is a fresh cgroup v2 directory that local mode owns.
type cgroupDir struct {
	path string
	fd   int // directory descriptor, for SysProcAttr.CgroupFD
}

// newCgroup creates a cgroup v2 directory under the v2 root.
func newCgroup() (*cgroupDir, error) {
	root, err := sysfault.CgroupV2Root()
	if err != nil {
		return nil, fmt.Errorf("find cgroup v2 root: %w", err)
	}
	dir, err := os.MkdirTemp(root, fmt.Sprintf("temblor-exec-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Rmdir(dir)
		return nil, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	return &cgroupDir{path: dir, fd: fd}, nil
}

// remove deletes the directory. Processes the command left behind in it are
// killed (cgroup.kill) so that nothing keeps running in a cgroup that is
// about to vanish.
func (c *cgroupDir) remove() error {
	if c == nil {
		return nil
	}
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	deadline := time.Now().Add(5 * time.Second)
	killed := false
	for {
		err := unix.Rmdir(c.path)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", c.path, err)
		}
		if !killed {
			// Left-over descendants of the command: end them.
			_ = os.WriteFile(filepath.Join(c.path, "cgroup.kill"), []byte("1"), 0)
			killed = true
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// enterSelf moves the calling process into the cgroup and returns a function
// that moves it back to where it was.
func (c *cgroupDir) enterSelf() (restore func() error, err error) {
	orig, err := selfCgroup()
	if err != nil {
		return nil, err
	}
	if err := writeProcs(c.path); err != nil {
		return nil, err
	}
	return func() error { return writeProcs(orig) }, nil
}

func writeProcs(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0); err != nil {
		return fmt.Errorf("move process into cgroup %s: %w", dir, err)
	}
	return nil
}

// selfCgroup is the cgroup v2 directory of the calling process.
func selfCgroup() (string, error) {
	root, err := sysfault.CgroupV2Root()
	if err != nil {
		return "", fmt.Errorf("find cgroup v2 root: %w", err)
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("read own cgroup: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(root, rest), nil
		}
	}
	return "", errors.New("read own cgroup: no cgroup v2 entry in /proc/self/cgroup")
}
