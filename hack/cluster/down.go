package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// down stops everything and leaves the machine as it was before `up`, even
// after a failed or partial `up`. It then prints the before/after comparison.
func down() error {
	t0 := time.Now()
	base, err := loadSnapshot(state.baseline())
	if err != nil {
		logf("no baseline snapshot at %s: cleaning up with defaults (assume nothing of ours existed)", state.baseline())
		base = nil
	}
	var problems []string
	note := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		problems = append(problems, msg)
		logf("warning: %s", msg)
	}

	// 1. kubelet first, so nothing restarts containers behind our back.
	stopDaemon("kubelet", 15*time.Second)

	// 2. Pod processes (everything in a kubepods cgroup) and containerd shims
	// started for our containerd.
	killOurs := func(sig syscall.Signal) int {
		n := 0
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			inPod := inKubepods(e.Name())
			shim := strings.Contains(string(cl), "containerd-shim") && strings.Contains(string(cl), state.root)
			if inPod || shim {
				syscall.Kill(pid, sig)
				n++
			}
		}
		return n
	}
	if n := killOurs(syscall.SIGTERM); n > 0 {
		logf("sent SIGTERM to %d pod/shim processes", n)
		waitFor("pod processes to exit", 5*time.Second, func() error {
			if n := countPodProcs(); n > 0 {
				return fmt.Errorf("%d left", n)
			}
			return nil
		})
		if n := killOurs(syscall.SIGKILL); n > 0 {
			logf("sent SIGKILL to %d pod/shim processes", n)
		}
	}

	// 3. The rest, in reverse start order; then the namespace holder, whose
	// exit (with containerd's) drops the mount namespace and all its mounts,
	// network namespaces bound in it and with them the pods' veths.
	for _, n := range []string{"containerd", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd", "nsholder"} {
		stopDaemon(n, 10*time.Second)
	}
	// Anything else still naming our state directory (a crashed up's
	// leftovers, an orphaned shim).
	// Only our own kinds of process: a user's `tail -f` of a log under the
	// state dir is left alone (and reported).
	ourKinds := map[string]bool{"etcd": true, "kube-apiserver": true, "kube-controller": true, "kube-scheduler": true,
		"kubelet": true, "containerd": true, "containerd-shim": true, "containerd-shim-runc-v2": true, "runc": true,
		"cluster-nsholde": true, "nsenter": true}
	for _, p := range ourProcesses() {
		f := strings.Fields(p)
		pid, _ := strconv.Atoi(f[0])
		if pid > 0 && (len(f) < 2 || ourKinds[f[1]] || inKubepods(f[0])) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err := waitFor("all cluster processes to exit", 15*time.Second, func() error {
		if l := ourProcesses(); len(l) > 0 {
			return fmt.Errorf("%v", l)
		}
		return nil
	}); err != nil {
		note("%v", err)
	}

	// 4. Mounts in the host namespace under paths we own (there should be
	// none: they all lived in the private namespace).
	umountUnder(base, note)

	// 5. Links: the bridge, leftover veths on it, the node address link.
	had := map[string]bool{}
	if base != nil {
		had = setOf(base["links"])
	}
	ents, _ := os.ReadDir("/sys/class/net")
	for _, e := range ents {
		name := e.Name()
		if had[name] {
			continue
		}
		master, _ := os.Readlink("/sys/class/net/" + name + "/master")
		if name == bridgeName || name == nodeLink || filepath.Base(master) == bridgeName {
			if err := run("ip", "link", "del", name); err != nil {
				note("%v", err)
			} else {
				logf("deleted link %s", name)
			}
		}
	}

	// 6. iptables/nftables: rules, chains and tables that appeared since.
	cleanIptables(base, note)

	// 7. cgroups that kubelet created (bottom-up rmdir after the processes
	// are gone).
	var hadCg map[string]bool
	if base != nil {
		hadCg = setOf(base["cgroups"])
	}
	for _, cg := range kubeCgroups() {
		if hadCg[cg] {
			continue
		}
		if err := waitFor("rmdir "+cg, 10*time.Second, func() error { return rmdirTree(cg) }); err != nil {
			note("%v", err)
		}
	}

	// 8. Paths outside the state dir that kubelet/containerd/CNI created.
	var hadPath map[string]bool
	if base != nil {
		hadPath = setOf(base["paths"])
	}
	for _, p := range watchedPaths {
		if hadPath[p] {
			// it existed: remove only entries we added (netns files)
			if p == "/run/netns" || p == "/var/run/netns" {
				ents, _ := os.ReadDir(p)
				for _, e := range ents {
					fp := filepath.Join(p, e.Name())
					if !hadPath[fp] && strings.HasPrefix(e.Name(), "cni-") {
						syscall.Unmount(fp, syscall.MNT_DETACH)
						if err := os.Remove(fp); err != nil {
							note("%v", err)
						}
					}
				}
			}
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			if base == nil && (p == "/run/netns" || p == "/var/run/netns" || p == "/etc/cni") {
				continue // without a baseline, do not guess about shared dirs
			}
			if err := os.RemoveAll(p); err != nil {
				note("remove %s: %v", p, err)
			} else {
				logf("removed %s", p)
			}
		}
	}

	// 9. sysctls: they should never have moved; put them back if they did.
	if base != nil {
		for _, kv := range base["sysctls"] {
			k, v, _ := strings.Cut(kv, "=")
			path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
			cur, err := os.ReadFile(path)
			if err == nil && strings.TrimSpace(string(cur)) != v && v != "<absent>" {
				note("sysctl %s changed to %s: restoring %s", k, strings.TrimSpace(string(cur)), v)
				os.WriteFile(path, []byte(v), 0o644)
			}
		}
	}

	// 10. Kernel modules loaded on our behalf (bridge, veth, overlay, ...):
	// unload the ones that were not loaded before and are no longer in use.
	if base != nil {
		hadMod := setOf(base["modules"])
		after := takeSnapshot()
		var mods []string
		for _, m := range after["modules"] {
			if !hadMod[m] {
				mods = append(mods, m)
			}
		}
		if len(mods) > 0 {
			// dependents first: bridge before stp before llc
			order := map[string]int{"br_netfilter": 0, "xt_conntrack": 0, "bridge": 1, "veth": 1, "overlay": 1, "nf_conntrack": 2, "stp": 2, "llc": 3}
			sort.Slice(mods, func(i, j int) bool { return order[mods[i]] < order[mods[j]] })
			for _, m := range mods {
				if err := run("modprobe", "-r", m); err != nil {
					note("module %s stays loaded (in use?): %v", m, err)
				} else {
					logf("unloaded module %s", m)
				}
			}
		}
	}

	// 11. Finally the state directory itself.
	if err := os.RemoveAll(state.root); err != nil {
		note("remove %s: %v", state.root, err)
	}

	after := takeSnapshot()
	if base != nil {
		printDiff("before up vs after down", base, after)
	} else {
		fmt.Println("== host hygiene: no baseline; current state of watched items ==")
		for _, k := range []string{"cgroups", "paths", "nft", "processes"} {
			fmt.Printf("  %-10s %v\n", k, after[k])
		}
	}
	logf("down in %s", time.Since(t0).Round(time.Millisecond))
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s): %s", len(problems), strings.Join(problems, "; "))
	}
	return nil
}

func countPodProcs() int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if inKubepods(e.Name()) {
			n++
		}
	}
	return n
}

func umountUnder(base Snapshot, note func(string, ...any)) {
	var had map[string]bool
	if base != nil {
		had = setOf(base["mounts"])
	}
	prefixes := []string{state.root, "/run/containerd", "/var/lib/kubelet", "/run/netns/cni-", "/var/run/netns/cni-"}
	snap := takeSnapshot()
	mounts := snap["mounts"]
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if had[m] {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(m, p) {
				if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
					note("umount %s: %v", m, err)
				} else {
					logf("unmounted %s", m)
				}
				break
			}
		}
	}
}

// rmdirTree removes a cgroup directory tree bottom-up (cgroupfs only allows
// rmdir of empty cgroups; their files vanish with them).
func rmdirTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := rmdirTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("rmdir %s: %v", dir, err)
	}
	return nil
}

// cleanIptables deletes the rules, chains and iptables-nft tables that
// appeared since the baseline (kubelet's KUBE-* chains and the like).
func cleanIptables(base Snapshot, note func(string, ...any)) {
	var had map[string]bool
	if base != nil {
		had = setOf(base["iptables"])
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		out, err := exec.Command(tool + "-save").Output()
		if err != nil {
			continue
		}
		table := ""
		var rules, chains [][2]string
		for _, l := range strings.Split(string(out), "\n") {
			switch {
			case strings.HasPrefix(l, "*"):
				table = l[1:]
			case strings.HasPrefix(l, ":"):
				c := strings.Fields(l[1:])[0]
				key := tool + "-save " + table + " chain " + c
				if !had[key] && (base != nil || strings.HasPrefix(c, "KUBE-") || strings.HasPrefix(c, "CNI-")) {
					if !isBuiltin(c) {
						chains = append(chains, [2]string{table, c})
					}
				}
			case strings.HasPrefix(l, "-A"):
				key := tool + "-save " + table + " " + l
				if !had[key] && (base != nil || strings.Contains(l, "KUBE-") || strings.Contains(l, "CNI-")) {
					rules = append(rules, [2]string{table, l})
				}
			}
		}
		for _, r := range rules {
			args := append([]string{"-t", r[0], "-D"}, splitRule(strings.TrimPrefix(r[1], "-A "))...)
			if err := run(tool, args...); err != nil {
				note("%v", err)
			} else {
				logf("%s -t %s: deleted rule %s", tool, r[0], r[1])
			}
		}
		for _, c := range chains {
			run(tool, "-t", c[0], "-F", c[1])
		}
		for _, c := range chains {
			if err := run(tool, "-t", c[0], "-X", c[1]); err != nil {
				note("%v", err)
			} else {
				logf("%s -t %s: deleted chain %s", tool, c[0], c[1])
			}
		}
	}
	// iptables-nft leaves its (now empty) nft tables behind.
	if base == nil {
		return
	}
	hadT := setOf(base["nft"])
	out, _ := output("nft", "list", "tables")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l) // table <family> <name>
		if l == "" || hadT[l] || len(f) != 3 {
			continue
		}
		switch f[2] {
		case "filter", "nat", "mangle", "raw", "security":
			if f[1] != "ip" && f[1] != "ip6" {
				continue
			}
			if err := run("nft", "delete", "table", f[1], f[2]); err != nil {
				note("%v", err)
			} else {
				logf("deleted nft table %s %s", f[1], f[2])
			}
		}
	}
}

func isBuiltin(c string) bool {
	switch c {
	case "INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING":
		return true
	}
	return false
}

// splitRule splits an iptables-save rule into arguments, honouring quotes.
func splitRule(s string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQ = !inQ
		case c == ' ' && !inQ:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
