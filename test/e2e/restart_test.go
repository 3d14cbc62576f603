//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Issue 11, hole 4: a container the kubelet restarts, or a sandbox it
// recreates, must be faulted again within a second, on the real node.
var _ = Describe("Restarts under a fault on a real node", Ordered, Label("restart"), func() {
	var ns, serverIP string
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		if _, _, node := agentBPFFds(); !node {
			Skip("needs root on the node to kill a pod's processes")
		}
		ns = testNamespace("temblor-e2e-restart")
		apply(appPod(ns, "server", map[string]string{"app": "demo", "role": "server"}, "server"))
		waitReady(ns, "server")
		serverIP = podIP(ns, "server")
	})

	client := func(name string) {
		GinkgoHelper()
		apply(appPod(ns, name, map[string]string{"app": "demo", "role": name},
			"client", "--target", serverIP+":8000", "--proto", "http", "--rate", "50"))
		waitReady(ns, name)
		expectHealthy(ns, name, 30*time.Second)
	}
	injectedFault := func(name string) {
		GinkgoHelper()
		Eventually(func() string {
			return jsonpath(ns, "fault", name, "{.status.phase}/{.status.conditions[?(@.type=='Injected')].status}")
		}).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(Equal("Running/True"), name)
	}
	// failingSinceStart waits until the client's current process fails its
	// requests with wantErr, and returns how many of them succeeded since
	// it started: at 50 requests a second, more than 50 means it ran
	// unfaulted for more than a second.
	failingSinceStart := func(pod, wantErr string) int64 {
		GinkgoHelper()
		var ok int64
		Eventually(func(g Gomega) {
			s, err := stats(ns, pod)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Sent).To(BeNumerically(">=", 100))
			g.Expect(s.SuccessRate).To(BeNumerically("<=", 0.05))
			g.Expect(s.LastError).To(ContainSubstring(wantErr))
			ok = s.OK
		}).WithTimeout(60*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), pod)
		return ok
	}
	restartCount := func(pod string) int {
		n, _ := strconv.Atoi(jsonpath(ns, "pod", pod, "{.status.containerStatuses[0].restartCount}"))
		return n
	}
	It("follows a restarted container named by a syscall fault (through the runtime, by name)", func() {
		client("named")
		apply(faultYAML(ns, "named", `  selector: {matchLabels: {role: named}, containerNames: [app]}
  duration: 3m
  syscall: {syscalls: [connect], errno: ECONNREFUSED}
`))
		injectedFault("named")
		failingSinceStart("named", "connection refused")

		pid := podProcess(ns, "named", "app")
		Expect(pid).NotTo(BeZero(), "the client's process on the node")
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		Eventually(func() int { return restartCount("named") }).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Equal(1))
		ok := failingSinceStart("named", "connection refused")
		AddReportEntry("restarted container, container-scoped syscall fault", fmt.Sprintf("%d requests of the new container succeeded before it was faulted (50/s)", ok))
		Expect(ok).To(BeNumerically("<=", 50), "the restarted container ran unfaulted for more than a second")
		// One restart may count two re-injections: the new container can be
		// found by its mount namespace before its cgroup directory shows,
		// and the agent moves to the cgroup once it does.
		Eventually(func(g Gomega) {
			state := injectionField(ns, "named", "{.items[0].status.targets[0].state}")
			n, _ := strconv.Atoi(injectionField(ns, "named", "{.items[0].status.targets[0].reinjections}"))
			g.Expect(state).To(Equal("Injected"))
			g.Expect(n).To(BeNumerically(">=", 1))
			g.Expect(n).To(BeNumerically("<=", 2))
		}).WithTimeout(10 * time.Second).Should(Succeed())
		mustKubectl("delete", "fault", "-n", ns, "named")
		expectHealthy(ns, "named", 20*time.Second)
	})

	It("follows a recreated sandbox (new network namespace) under a network fault", func() {
		client("sandbox")
		apply(faultYAML(ns, "sandbox", `  selector: {matchLabels: {role: sandbox}}
  duration: 3m
  network: {type: Drop, direction: Both, probability: "100", protocol: TCP, ports: [{from: 8000}]}
`))
		injectedFault("sandbox")
		failingSinceStart("sandbox", "Client.Timeout")
		oldIP := podIP(ns, "sandbox")
		oldNS := netnsOf(podProcess(ns, "sandbox", "app"))

		pause := podProcess(ns, "sandbox", "pause")
		Expect(pause).NotTo(BeZero(), "the sandbox's pause process on the node")
		Expect(syscall.Kill(pause, syscall.SIGKILL)).To(Succeed())
		// The kubelet kills the containers, creates a new sandbox (new
		// network namespace) and starts them again.
		Eventually(func(g Gomega) {
			seen := map[int]string{}
			for _, p := range podProcesses(ns, "sandbox", "app") {
				n := netnsOf(p)
				if n != "" && n != oldNS {
					return
				}
				seen[p] = n
			}
			g.Expect(seen).To(BeEmpty(), "app processes of the pod (pid: netns), none in a new network namespace (old %s)", oldNS)
			g.Expect(seen).NotTo(BeEmpty(), "no app process in the pod yet")
		}).WithTimeout(90 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		ok := failingSinceStart("sandbox", "Client.Timeout")
		AddReportEntry("recreated sandbox, network fault", fmt.Sprintf("%d requests of the new sandbox succeeded before it was faulted (50/s); pod IP %s -> %s", ok, oldIP, jsonpath(ns, "pod", "sandbox", "{.status.podIP}")))
		Expect(ok).To(BeNumerically("<=", 50), "the recreated sandbox ran unfaulted for more than a second")
		Eventually(func() string {
			return injectionField(ns, "sandbox", "{.items[0].status.targets[0].state}/{.items[0].status.targets[0].reinjections}")
		}).WithTimeout(10 * time.Second).Should(MatchRegexp(`^Injected/[1-9]`))
		mustKubectl("delete", "fault", "-n", ns, "sandbox")
		expectHealthy(ns, "sandbox", 30*time.Second)
	})
})

// injectionField reads a jsonpath of the FaultInjections of a Fault.
func injectionField(ns, fault, path string) string {
	out, _ := kubectl("get", "faultinjections", "-n", ns, "-l", "chaos.temblor.dev/fault="+fault, "-o", "jsonpath="+path)
	return strings.TrimSpace(out)
}

// podProcess returns the PID, on the node, of a live process named comm in
// a pod's cgroup, or 0.
func podProcess(ns, pod, comm string) int {
	if pids := podProcesses(ns, pod, comm); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// podProcesses returns the PIDs, on the node, of the live processes named
// comm in a pod's cgroup. Zombies are left out: a killed container's process
// can linger unreaped for a while, still in the pod's cgroup but with no
// namespaces left to read.
func podProcesses(ns, pod, comm string) []int {
	uid := jsonpath(ns, "pod", pod, "{.metadata.uid}")
	if uid == "" {
		return nil
	}
	systemdUID := strings.ReplaceAll(uid, "-", "_")
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		c, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if (strings.Contains(string(cg), "pod"+uid) || strings.Contains(string(cg), "pod"+systemdUID)) &&
			strings.TrimSpace(string(c)) == comm && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether pid has exited (state Z or X) or is gone.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised comm, which may hold spaces.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	return stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// netnsOf returns the network namespace link of pid, or "".
func netnsOf(pid int) string {
	if pid == 0 {
		return ""
	}
	l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	return l
}
