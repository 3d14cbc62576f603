package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// temblorBPF lists the Temblor programs, links and maps loaded in the
// kernel (names starting with tb_).
func temblorBPF() ([]string, error) {
	objs, err := testutil.TemblorBPF()
	if err != nil {
		return nil, fmt.Errorf("list Temblor programs and links: %w", err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.String())
	}
	var id ebpf.MapID
	for {
		next, err := ebpf.MapGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("next map id after %d: %w", id, err)
		}
		id = next
		m, err := ebpf.NewMapFromID(id)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open map %d: %w", id, err)
		}
		info, err := m.Info()
		m.Close()
		if err != nil {
			return nil, fmt.Errorf("info of map %d: %w", id, err)
		}
		if strings.HasPrefix(info.Name, testutil.ObjectPrefix) {
			out = append(out, fmt.Sprintf("map %d %s %s", id, info.Type, info.Name))
		}
	}
	return out, nil
}

// podPID returns a process of the pod (by its cgroup), 0 if none.
func podPID(uid string) int { return testutil.PodProcessPID(uid, "") }

// netnsInode is the inode of a process's network namespace.
func netnsInode(pid int) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err != nil {
		return 0, fmt.Errorf("stat netns of %d: %w", pid, err)
	}
	return st.Ino, nil
}

// tcState is what tc holds in one network namespace: every filter on the
// clsact hooks and every qdisc, per link ("eth0 ingress bpf tb_x").
type tcState struct {
	filters []string
	qdiscs  []string
}

// readTC lists the tc filters and qdiscs in the network namespace of pid,
// through netlink (a handle bound to that namespace, no setns).
func readTC(pid int) (tcState, error) {
	var s tcState
	ns, err := netns.GetFromPath(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return s, fmt.Errorf("open netns of %d: %w", pid, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return s, fmt.Errorf("netlink handle in netns of %d: %w", pid, err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return s, fmt.Errorf("list links in netns of %d: %w", pid, err)
	}
	for _, l := range links {
		name := l.Attrs().Name
		qs, err := h.QdiscList(l)
		if err != nil {
			return s, fmt.Errorf("list qdiscs of %s: %w", name, err)
		}
		for _, q := range qs {
			s.qdiscs = append(s.qdiscs, fmt.Sprintf("%s %s %s", name, q.Type(), netlink.HandleStr(q.Attrs().Handle)))
		}
		for _, parent := range []struct {
			name   string
			handle uint32
		}{{"ingress", netlink.HANDLE_MIN_INGRESS}, {"egress", netlink.HANDLE_MIN_EGRESS}, {"root", netlink.HANDLE_ROOT}} {
			fs, err := h.FilterList(l, parent.handle)
			if err != nil {
				continue // no such parent (no clsact qdisc): no filter
			}
			for _, f := range fs {
				desc := f.Type()
				if b, ok := f.(*netlink.BpfFilter); ok {
					desc += " " + b.Name
				}
				s.filters = append(s.filters, fmt.Sprintf("%s %s %s", name, parent.name, desc))
			}
		}
	}
	sort.Strings(s.qdiscs)
	sort.Strings(s.filters)
	return s, nil
}

// podCgroupDirs finds cgroup directories of the pod under /sys/fs/cgroup
// (the unified tree and any v1 hierarchy).
func podCgroupDirs(uid string) []string {
	keys := []string{"pod" + uid, "pod" + strings.ReplaceAll(uid, "-", "_")}
	var found []string
	filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		for _, k := range keys {
			if strings.Contains(d.Name(), k) {
				found = append(found, path)
				return filepath.SkipDir
			}
		}
		return nil
	})
	return found
}

// netnsHolders lists what still references a network namespace by inode:
// a process in it, an open descriptor of it, or a bind mount of it in any
// mount namespace.
func netnsHolders(inos map[uint64]string) map[uint64][]string {
	out := map[uint64][]string{}
	want := func(link string) (uint64, bool) {
		v, ok := strings.CutPrefix(link, "net:[")
		if !ok {
			return 0, false
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64)
		if err != nil {
			return 0, false
		}
		_, ok = inos[ino]
		return ino, ok
	}
	seenMnt := map[string]bool{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		comm, _ := os.ReadFile(dir + "/comm")
		who := fmt.Sprintf("pid %s (%s)", e.Name(), strings.TrimSpace(string(comm)))
		if l, err := os.Readlink(dir + "/ns/net"); err == nil {
			if ino, ok := want(l); ok {
				out[ino] = append(out[ino], who+" runs in it")
			}
		}
		fds, _ := os.ReadDir(dir + "/fd")
		for _, fd := range fds {
			if l, err := os.Readlink(dir + "/fd/" + fd.Name()); err == nil {
				if ino, ok := want(l); ok {
					out[ino] = append(out[ino], who+" holds fd "+fd.Name())
				}
			}
		}
		mnt, err := os.Readlink(dir + "/ns/mnt")
		if err != nil || seenMnt[mnt] {
			continue
		}
		seenMnt[mnt] = true
		mi, _ := os.ReadFile(dir + "/mountinfo")
		for _, line := range strings.Split(string(mi), "\n") {
			f := strings.Fields(line)
			if len(f) < 5 {
				continue
			}
			if ino, ok := want(f[3]); ok {
				out[ino] = append(out[ino], fmt.Sprintf("mounted at %s (mount ns of %s)", f[4], who))
			}
		}
	}
	return out
}
