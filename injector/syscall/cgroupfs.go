package syscall

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// CgroupV2Root returns the mount point of the cgroup v2 hierarchy:
// /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
func CgroupV2Root() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("find cgroup v2 mount: %w", err)
	}
	defer f.Close()
	return cgroup2MountPoint(f)
}

// cgroup2MountPoint returns the mount point of the first cgroup2 filesystem
// in a mountinfo file (proc(5)).
func cgroup2MountPoint(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - cgroup2 cgroup2 rw
		// Fields are separated by single spaces; the kernel escapes spaces,
		// tabs, newlines and backslashes in paths, but not other white
		// space (\r, \v, U+00A0, ...), which strings.Fields would split at.
		fields := strings.Split(sc.Text(), " ")
		for i, field := range fields {
			if field == "-" && i+1 < len(fields) && i >= 6 {
				if fields[i+1] == "cgroup2" {
					return unescapeMountPath(fields[4]), nil
				}
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	return "", errors.New("find cgroup v2 mount: no cgroup2 filesystem mounted")
}

// unescapeMountPath undoes the octal escapes of spaces and tabs in mountinfo.
func unescapeMountPath(p string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(p)
}

// CgroupID returns the id of the cgroup v2 directory dir, the value
// bpf_get_current_cgroup_id returns for its tasks.
func CgroupID(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs cgroup %s: %w", dir, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return 0, fmt.Errorf("cgroup %s: not on a cgroup v2 filesystem", dir)
	}
	var s unix.Stat_t
	if err := unix.Stat(dir, &s); err != nil {
		return 0, fmt.Errorf("stat cgroup %s: %w", dir, err)
	}
	return s.Ino, nil
}

// cgroupSubtreeIDs returns the ids of dir and of every cgroup below it.
func cgroupSubtreeIDs(dir string) ([]uint64, error) {
	if _, err := CgroupID(dir); err != nil {
		return nil, err
	}
	var ids []uint64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		id, err := CgroupID(path)
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk cgroup %s: %w", dir, err)
	}
	return ids, nil
}
