package agent_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// This host is shared: other suites (injector/syscall, test/e2e) load
// Temblor programs at the same time. A leak check here must only count
// objects that no other process holds, so foreignBPF collects the program
// and link IDs referenced by descriptors of processes that are neither this
// test process nor its descendants.
func foreignBPF() map[string]bool {
	self := os.Getpid()
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; cut after ')'.
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 1 {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
	}
	ours := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			if pid == self {
				return true
			}
			pid = parent[pid]
		}
		return false
	}
	ids := map[string]bool{}
	for pid := range parent {
		if ours(pid) {
			continue
		}
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		fds, _ := os.ReadDir(filepath.Join(dir, "fd"))
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(target, "anon_inode:bpf") {
				continue
			}
			kind := "prog"
			if strings.Contains(target, "link") {
				kind = "link"
			}
			f, err := os.Open(filepath.Join(dir, "fdinfo", fd.Name()))
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				k, v, ok := strings.Cut(sc.Text(), ":")
				if !ok {
					continue
				}
				v = strings.TrimSpace(v)
				switch k {
				case "prog_id":
					ids["prog "+v] = true
				case "link_id":
					ids[kind+" "+v] = true
				}
			}
			f.Close()
		}
	}
	return ids
}

// withoutForeign drops the objects other processes hold.
func withoutForeign(objs []testutil.BPFObject) []testutil.BPFObject {
	if len(objs) == 0 {
		return objs
	}
	foreign := foreignBPF()
	var out []testutil.BPFObject
	for _, o := range objs {
		if !foreign[o.Kind+" "+strconv.FormatUint(uint64(o.ID), 10)] {
			out = append(out, o)
		}
	}
	return out
}
