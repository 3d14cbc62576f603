package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Snapshot is what the cluster may change on the host, one sorted list of
// strings per category, so that two snapshots can be compared line by line.
type Snapshot map[string][]string

// sysctls that kubelet (setupKernelTunables), the bridge CNI plugin and
// containerd are known to write. They are covered by plain files inside the
// private mount namespace; the snapshot proves the host values did not move.
var watchedSysctls = []string{
	"kernel/panic",
	"kernel/panic_on_oops",
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/forwarding",
	"net/ipv6/conf/all/forwarding",
}

// paths that kubelet, containerd and CNI create outside the state directory
// (or would, with default settings).
var watchedPaths = []string{
	"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/var/lib/cni",
	"/run/containerd", "/var/lib/containerd", "/opt/containerd", "/etc/cni",
	"/etc/kubernetes", "/run/netns", "/var/run/netns",
}

// kernel modules the cluster may cause to be loaded.
var watchedModules = map[string]bool{"bridge": true, "stp": true, "llc": true, "veth": true, "br_netfilter": true, "overlay": true, "nf_conntrack": true, "xt_conntrack": true}

func takeSnapshot() Snapshot {
	s := Snapshot{}
	// links and addresses
	if ents, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, e := range ents {
			s["links"] = append(s["links"], e.Name())
		}
	}
	if out, err := exec.Command("ip", "-o", "addr", "show").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 4 {
				s["addresses"] = append(s["addresses"], f[1]+" "+f[3])
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "route", "show", "table", "all").Output(); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" {
				s["routes"] = append(s["routes"], strings.Join(strings.Fields(l), " "))
			}
		}
	}
	// mounts in this (host) mount namespace
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			if len(fl) > 4 {
				s["mounts"] = append(s["mounts"], fl[4])
			}
		}
		f.Close()
	}
	// kubepods (and any other kubelet) cgroups in every hierarchy
	s["cgroups"] = kubeCgroups()
	// sysctls
	for _, k := range watchedSysctls {
		b, err := os.ReadFile("/proc/sys/" + k)
		v := strings.TrimSpace(string(b))
		if err != nil {
			v = "<absent>"
		}
		s["sysctls"] = append(s["sysctls"], strings.ReplaceAll(k, "/", ".")+"="+v)
	}
	// paths
	for _, p := range watchedPaths {
		if _, err := os.Lstat(p); err == nil {
			s["paths"] = append(s["paths"], p)
			if p == "/run/netns" || p == "/var/run/netns" {
				if ents, err := os.ReadDir(p); err == nil {
					for _, e := range ents {
						s["paths"] = append(s["paths"], filepath.Join(p, e.Name()))
					}
				}
			}
		}
	}
	if _, err := os.Stat(state.root); err == nil {
		s["paths"] = append(s["paths"], state.root)
	}
	// iptables (legacy view through iptables-nft) and nftables tables
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		if out, err := exec.Command(tool).Output(); err == nil {
			table := ""
			for _, l := range strings.Split(string(out), "\n") {
				switch {
				case strings.HasPrefix(l, "*"):
					table = l[1:]
				case strings.HasPrefix(l, ":"):
					s["iptables"] = append(s["iptables"], tool+" "+table+" chain "+strings.Fields(l[1:])[0])
				case strings.HasPrefix(l, "-A"):
					s["iptables"] = append(s["iptables"], tool+" "+table+" "+l)
				}
			}
		}
	}
	if out, err := exec.Command("nft", "list", "tables").Output(); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" {
				s["nft"] = append(s["nft"], l)
			}
		}
	}
	// listening sockets in the host network namespace
	s["listen"] = listeners()
	// kernel modules
	if b, err := os.ReadFile("/proc/modules"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) > 0 && watchedModules[f[0]] {
				s["modules"] = append(s["modules"], f[0])
			}
		}
	}
	// our processes
	s["processes"] = ourProcesses()
	for k := range s {
		sort.Strings(s[k])
	}
	return s
}

func kubeCgroups() []string {
	var out []string
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range ents {
		h := filepath.Join("/sys/fs/cgroup", e.Name())
		for _, name := range []string{"kubepods", "kubepods.slice", "kube-temblor"} {
			if st, err := os.Stat(filepath.Join(h, name)); err == nil && st.IsDir() {
				out = append(out, filepath.Join(h, name))
			}
		}
	}
	return out
}

func listeners() []string {
	var out []string
	owner := socketOwners()
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile("/proc/net/" + proto)
		if err != nil {
			continue
		}
		for i, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if i == 0 || len(f) < 4 {
				continue
			}
			if strings.HasPrefix(proto, "tcp") && f[3] != "0A" {
				continue
			}
			if strings.HasPrefix(proto, "udp") && f[3] != "07" {
				continue
			}
			l := proto + " " + hexAddr(f[1])
			if len(f) > 9 && owner[f[9]] != "" {
				l += " (" + owner[f[9]] + ")"
			}
			out = append(out, l)
		}
	}
	return dedup(out)
}

func hexAddr(s string) string {
	hp := strings.Split(s, ":")
	if len(hp) != 2 {
		return s
	}
	port, _ := strconv.ParseUint(hp[1], 16, 16)
	h := hp[0]
	if len(h) == 8 {
		v, _ := strconv.ParseUint(h, 16, 32)
		return fmt.Sprintf("%d.%d.%d.%d:%d", v&0xff, v>>8&0xff, v>>16&0xff, v>>24&0xff, port)
	}
	return fmt.Sprintf("[%s]:%d", h, port)
}

func dedup(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// ourProcesses lists processes that belong to the cluster: daemons whose
// command line names the state directory, and anything in a kubepods cgroup.
func ourProcesses() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == self {
			continue
		}
		if isOurs(e.Name()) {
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			out = append(out, e.Name()+" "+strings.TrimSpace(string(cmd)))
		}
	}
	return out
}

func isOurs(pid string) bool {
	if inKubepods(pid) {
		return true
	}
	cl, _ := os.ReadFile("/proc/" + pid + "/cmdline")
	return strings.Contains(string(cl), state.root+"/") || strings.Contains(string(cl), holderArg)
}

func (s Snapshot) save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func loadSnapshot(path string) (Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := Snapshot{}
	return s, json.Unmarshal(b, &s)
}

// diff returns "+ x" / "- x" lines per category of after relative to before.
func diff(before, after Snapshot) []string {
	cats := map[string]bool{}
	for k := range before {
		cats[k] = true
	}
	for k := range after {
		cats[k] = true
	}
	var keys []string
	for k := range cats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		b := setOf(before[k])
		a := setOf(after[k])
		for _, x := range after[k] {
			if !b[x] {
				out = append(out, fmt.Sprintf("%-10s + %s", k, x))
			}
		}
		for _, x := range before[k] {
			if !a[x] {
				out = append(out, fmt.Sprintf("%-10s - %s", k, x))
			}
		}
	}
	return out
}

func setOf(l []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range l {
		m[x] = true
	}
	return m
}

func printDiff(title string, before, after Snapshot) {
	d := diff(before, after)
	fmt.Printf("== host hygiene: %s ==\n", title)
	for _, k := range []string{"links", "addresses", "routes", "mounts", "cgroups", "sysctls", "paths", "iptables", "nft", "listen", "modules", "processes"} {
		fmt.Printf("  %-10s before=%-4d after=%-4d\n", k, len(before[k]), len(after[k]))
	}
	if len(d) == 0 {
		fmt.Println("  no differences: the machine is as found")
		return
	}
	ours := 0
	for _, l := range d {
		if foreign(l) {
			fmt.Println("  " + l + "   [not the cluster's: a concurrent process on this machine]")
		} else {
			ours++
			fmt.Println("  " + l)
		}
	}
	if ours == 0 {
		fmt.Println("  => no difference attributable to the cluster: the machine is as found")
	}
}

// foreign tells differences caused by other work on the machine (tests of
// other engineers starting envtest, netns fixtures, ...) from the cluster's.
func foreign(line string) bool {
	f := strings.Fields(line)
	if len(f) < 3 {
		return false
	}
	cat, item := f[0], strings.Join(f[2:], " ")
	switch cat {
	case "listen":
		if f[1] == "-" {
			return true // a listener that went away was not the cluster's
		}
		// "... (comm pid N)": foreign if that process is alive and not ours
		i := strings.LastIndex(item, " pid ")
		if i < 0 {
			return false
		}
		pid := strings.TrimSuffix(item[i+5:], ")")
		if _, err := os.Stat("/proc/" + pid); err != nil {
			return false
		}
		return !isOurs(pid)
	case "paths", "mounts":
		for _, d := range []string{"/run/netns/", "/var/run/netns/"} {
			if strings.HasPrefix(item, d) && !strings.HasPrefix(strings.TrimPrefix(item, d), "cni-") {
				return true
			}
		}
	case "links", "addresses", "routes":
		return !strings.Contains(item, bridgeName) && !strings.Contains(item, "veth") && !strings.Contains(item, "10.244.0.")
	}
	return false
}

// inKubepods reports whether the process sits in the kubelet's top-level
// kubepods cgroup (cgroupfs driver) in any hierarchy. Only the top level
// counts: tests elsewhere in the tree build fake pods under
// /temblor-test-*/kubepods/..., which are not ours to touch.
func inKubepods(pid string) bool {
	b, _ := os.ReadFile("/proc/" + pid + "/cgroup")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && (f[2] == "/kubepods" || strings.HasPrefix(f[2], "/kubepods/")) {
			return true
		}
	}
	return false
}

// socketOwners maps socket inodes to the command name of a process holding them.
func socketOwners() map[string]string {
	m := map[string]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		fds, err := os.ReadDir("/proc/" + e.Name() + "/fd")
		if err != nil {
			continue
		}
		var comm string
		for _, fd := range fds {
			l, _ := os.Readlink("/proc/" + e.Name() + "/fd/" + fd.Name())
			if strings.HasPrefix(l, "socket:[") {
				if comm == "" {
					b, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
					comm = strings.TrimSpace(string(b)) + " pid " + e.Name()
				}
				m[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = comm
			}
		}
	}
	return m
}
