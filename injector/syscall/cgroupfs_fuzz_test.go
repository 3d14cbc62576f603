package syscall

import (
	"fmt"
	"strings"
	"testing"
)

// mountinfoSeed is a unified host's /proc/self/mountinfo, shortened.
const mountinfoSeed = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
25 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:3 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

// hybridSeed is a hybrid host's: v1 controllers and the v2 tree in unified/.
const hybridSeed = `24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 24 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
28 26 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,name=systemd
29 26 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,memory
`

// mangle escapes s as the kernel writes paths in mountinfo: space, tab,
// newline and backslash become octal escapes; every other byte is itself.
func mangle(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzCgroup2MountPoint writes a mountinfo file the way the kernel does,
// with a cgroup2 mount at a fuzzed mount point below other mounts (a
// cgroup v1 one, a tmpfs at a fuzzed path, optional fields in any number),
// and checks that the mount point is read back byte for byte.
func FuzzCgroup2MountPoint(f *testing.F) {
	f.Add("/sys/fs/cgroup", "/sys/fs/cgroup/memory", uint8(1), uint8(0))
	f.Add("/sys/fs/cgroup/unified", "/sys/fs/cgroup", uint8(0), uint8(2))
	f.Add("/run/my cgroup\\x", "/mnt/a\tb", uint8(3), uint8(1))
	f.Add("/mnt/a\u00a0b\rc\vd", "/other\u2028", uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, mnt, other string, optional, before uint8) {
		if strings.ContainsRune(mnt, 0) || strings.ContainsRune(other, 0) {
			return // paths hold no NUL
		}
		mnt, other = "/"+strings.TrimPrefix(mnt, "/"), "/"+strings.TrimPrefix(other, "/")
		opt := []string{"shared:1", "master:2", "propagate_from:3", "unbindable"}
		fields := strings.Join(opt[:int(optional)%(len(opt)+1)], " ")
		if fields != "" {
			fields += " "
		}
		var lines []string
		for i := 0; i < int(before)%4; i++ {
			lines = append(lines,
				fmt.Sprintf("%d 22 0:%d / %s rw,relatime %s- cgroup cgroup rw,memory", 30+i, 30+i, mangle(other), fields),
				fmt.Sprintf("%d 22 0:%d %s %s rw %s- tmpfs tmp%s rw,size=%s", 40+i, 40+i, mangle(other), mangle(other+"x"), fields, mangle(other), mangle(other)))
		}
		lines = append(lines, fmt.Sprintf("25 24 0:23 %s %s rw,nosuid %s- cgroup2 cgroup2 rw,nsdelegate", mangle(other), mangle(mnt), fields))
		lines = append(lines, "26 24 0:24 / /elsewhere rw - cgroup2 cgroup2 rw")
		got, err := cgroup2MountPoint(strings.NewReader(strings.Join(lines, "\n") + "\n"))
		if err != nil {
			t.Fatalf("mount point %q: %v", mnt, err)
		}
		if got != mnt {
			t.Fatalf("mount point: got %q, want %q", got, mnt)
		}
	})
}

// FuzzCgroup2MountPointRaw feeds arbitrary bytes as mountinfo: a mount point
// found comes from a line whose filesystem type, after the separator, is
// cgroup2; and none is found in a file without such a line.
func FuzzCgroup2MountPointRaw(f *testing.F) {
	f.Add([]byte(mountinfoSeed))
	f.Add([]byte(hybridSeed))
	f.Add([]byte("1 2 3 4 - cgroup2\n- cgroup2 x y\n1 2 3 4 5 6 -\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := cgroup2MountPoint(strings.NewReader(string(data)))
		has := false
		for _, line := range strings.Split(string(data), "\n") {
			has = has || strings.Contains(strings.TrimSuffix(line, "\r")+" ", " - cgroup2 ")
		}
		if err != nil {
			if got != "" {
				t.Fatalf("error %v with mount point %q", err, got)
			}
			return
		}
		if !has {
			t.Fatalf("mount point %q found in %q, which has no cgroup2 filesystem", got, data)
		}
	})
}
