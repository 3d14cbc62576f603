//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// Lifecycle specs: partial loss, corruption, and every way a fault can end
// early or without its manager or agent. Each spec has its own victim
// client and its own Fault; the kernel's BPF state is checked on the node
// (this machine) where the suite runs as root there.
var _ = Describe("Fault lifecycle on a real node", Ordered, Label("lifecycle"), func() {
	var ns, serverIP string
	var node bool // the suite runs as root on the node: kernel state is checkable
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		ns = testNamespace("temblor-e2e-life")
		apply(appPod(ns, "server", map[string]string{"app": "demo", "role": "server"}, "server"))
		waitReady(ns, "server")
		serverIP = podIP(ns, "server")
		_, _, node = agentBPFFds()
	})

	// victim starts a client pod labelled role=name and waits until it is healthy.
	victim := func(name, proto string) {
		GinkgoHelper()
		target := serverIP + ":8000"
		if proto == "udp" {
			target = serverIP + ":7001"
		}
		apply(appPod(ns, name, map[string]string{"app": "demo", "role": name},
			"client", "--target", target, "--proto", proto, "--rate", "50"))
		waitReady(ns, name)
		expectHealthy(ns, name, 30*time.Second)
	}
	injected := func(fault string) {
		GinkgoHelper()
		Eventually(func() string {
			return jsonpath(ns, "fault", fault, "{.status.phase}/{.status.conditions[?(@.type=='Injected')].status}")
		}).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(Equal("Running/True"), fault)
	}
	failing := func(pod, wantErr string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			s, err := stats(ns, pod)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.SuccessRate).To(BeNumerically("<=", 0.05))
			g.Expect(s.LastError).To(ContainSubstring(wantErr))
		}).WithTimeout(20*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), pod)
	}
	noTemblorBPF := func(within time.Duration) time.Duration {
		GinkgoHelper()
		start := time.Now()
		Eventually(func() ([]testutil.BPFObject, error) { return testutil.TemblorBPF() }).
			WithTimeout(within).WithPolling(10 * time.Millisecond).Should(BeEmpty())
		return time.Since(start)
	}
	refuseConnect := func(name, role, duration string) string {
		return faultYAML(ns, name, fmt.Sprintf(`  selector: {matchLabels: {role: %s}}
  duration: %s
  syscall: {syscalls: [connect], errno: ECONNREFUSED}
`, role, duration))
	}

	It("drops 30% of a client's UDP requests: its measured loss lands in the band", func() {
		victim("udp30", "udp")
		apply(faultYAML(ns, "drop30", `  selector: {matchLabels: {role: udp30}}
  duration: 60s
  network: {type: Drop, direction: Egress, protocol: UDP, probability: "30", destinationPorts: [{from: 7001}]}
`))
		injected("drop30")
		time.Sleep(4 * time.Second) // one full stats window under the fault
		var sent, ok int64
		for range 5 {
			s, err := stats(ns, "udp30")
			Expect(err).NotTo(HaveOccurred())
			sent, ok = sent+s.WindowSent, ok+s.WindowOK
			time.Sleep(3 * time.Second)
		}
		loss := 1 - float64(ok)/float64(sent)
		AddReportEntry("drop 30%", fmt.Sprintf("client loss %.3f over %d requests", loss, sent))
		Expect(loss).To(BeNumerically("~", 0.30, 0.10))
		mustKubectl("delete", "fault", "-n", ns, "drop30")
		expectHealthy(ns, "udp30", 20*time.Second)
	})

	It("shrinks the UDP length by 8 with repaired checksums: the server gets truncated datagrams", func() {
		victim("udplen", "udp")
		apply(faultYAML(ns, "udplen", `  selector: {matchLabels: {role: udplen}}
  duration: 60s
  network:
    type: Corrupt
    direction: Egress
    protocol: UDP
    destinationPorts: [{from: 7001}]
    corrupt: {field: UDPLength, delta: -8, checksum: Repair}
`))
		injected("udplen")
		failing("udplen", "bad echo") // the server echoes what it got: 8 bytes short
		Eventually(func() string { return jsonpath(ns, "fault", "udplen", "{.status.counters.packetsCorrupted}") }).
			WithTimeout(20 * time.Second).ShouldNot(BeElementOf("", "0"))
		mustKubectl("delete", "fault", "-n", ns, "udplen")
		expectHealthy(ns, "udplen", 20*time.Second)
	})

	It("tears down within a second when the Fault is deleted mid-run", func() {
		victim("del", "http")
		apply(refuseConnect("del", "del", "5m"))
		injected("del")
		failing("del", "connection refused")
		start := time.Now()
		mustKubectl("delete", "fault", "-n", ns, "del", "--wait=false")
		var took time.Duration
		if node {
			noTemblorBPF(5 * time.Second)
			took = time.Since(start) // includes starting kubectl
		}
		Eventually(func() (string, error) { return kubectl("get", "fault", "-n", ns, "-o", "name") }).
			WithTimeout(10 * time.Second).Should(BeEmpty())
		gone := time.Since(start)
		AddReportEntry("delete mid-run", fmt.Sprintf("BPF released %s after running kubectl delete; Fault gone after %s", took.Round(time.Millisecond), gone.Round(time.Millisecond)))
		if node {
			Expect(took).To(BeNumerically("<", time.Second))
		}
		expectHealthy(ns, "del", 20*time.Second)
	})

	It("loses every fault at once when the agent is SIGKILLed, and gets it back after the restart", func() {
		if !node {
			Skip("needs root on the node to SIGKILL the agent")
		}
		victim("kill", "http")
		apply(refuseConnect("kill", "kill", "5m"))
		injected("kill")
		failing("kill", "connection refused")
		pid := agentPID()
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		took := noTemblorBPF(2 * time.Second)
		AddReportEntry("agent SIGKILL", fmt.Sprintf("no Temblor BPF object left %s after SIGKILL of pid %d", took.Round(time.Millisecond), pid))
		Expect(took).To(BeNumerically("<", time.Second))
		// The DaemonSet's container restarts (at once, the first time) and
		// re-applies the fault, still before its deadline.
		Eventually(func() int { return agentPID() }).WithTimeout(90 * time.Second).WithPolling(time.Second).
			ShouldNot(BeElementOf(0, pid))
		failing("kill", "connection refused")
		Expect(jsonpath(ns, "fault", "kill", "{.status.phase}")).To(Equal("Running"))
		mustKubectl("delete", "fault", "-n", ns, "kill")
		expectHealthy(ns, "kill", 20*time.Second)
	})

	It("ends the fault on time while the manager is stopped", func() {
		victim("nomgr", "http")
		apply(refuseConnect("nomgr", "nomgr", "25s"))
		injected("nomgr")
		failing("nomgr", "connection refused")
		mustKubectl("scale", "deploy", "-n", "temblor-system", "temblor-manager", "--replicas=0")
		DeferCleanup(func() {
			mustKubectl("scale", "deploy", "-n", "temblor-system", "temblor-manager", "--replicas=1")
			mustKubectl("rollout", "status", "-n", "temblor-system", "deploy/temblor-manager", "--timeout=120s")
		})
		Eventually(func() string {
			out, _ := kubectl("get", "pods", "-n", "temblor-system", "-l", "app.kubernetes.io/name=temblor-manager", "-o", "name")
			return strings.TrimSpace(out)
		}).WithTimeout(60 * time.Second).Should(BeEmpty())
		expiry, err := time.Parse(time.RFC3339, jsonpath(ns, "fault", "nomgr", "{.status.expiryTime}"))
		Expect(err).NotTo(HaveOccurred())
		Expect(time.Until(expiry)).To(BeNumerically(">", 0), "the manager must be gone before the deadline")
		if node {
			Eventually(func() ([]testutil.BPFObject, error) { return testutil.TemblorBPF() }).
				WithTimeout(time.Until(expiry) + 3*time.Second).WithPolling(10 * time.Millisecond).Should(BeEmpty())
			late := time.Since(expiry)
			AddReportEntry("manager stopped", fmt.Sprintf("agent removed the fault %s after the expiry time (1 s precision)", late.Round(time.Millisecond)))
			Expect(late).To(BeNumerically("<", 2*time.Second))
		}
		expectHealthy(ns, "nomgr", 20*time.Second)
		mustKubectl("scale", "deploy", "-n", "temblor-system", "temblor-manager", "--replicas=1")
		Eventually(func() string { return jsonpath(ns, "fault", "nomgr", "{.status.phase}") }).
			WithTimeout(120 * time.Second).WithPolling(time.Second).Should(Equal("Succeeded"))
	})

	It("reports a target pod deleted mid-run as Gone and leaves nothing of it", func() {
		victim("gone", "http")
		apply(refuseConnect("gone", "gone", "5m"))
		injected("gone")
		mustKubectl("delete", "pod", "-n", ns, "gone", "--grace-period=1")
		Eventually(func(g Gomega) {
			out, err := kubectl("get", "faultinjections", "-n", ns, "-l", "chaos.temblor.dev/fault=gone",
				"-o", "jsonpath={.items[*].status.targets[*].state}")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(strings.Fields(out)).To(ConsistOf("Gone"))
			g.Expect(jsonpath(ns, "fault", "gone", "{.status.conditions[?(@.type=='Injected')].message}")).To(ContainSubstring("Gone"))
		}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
		if node {
			noTemblorBPF(10 * time.Second)
		}
		mustKubectl("delete", "fault", "-n", ns, "gone")
	})
})

// agentPID is the host PID of the agent process (0 when not found).
func agentPID() int {
	out, err := kubectl("get", "pods", "-n", "temblor-system", "-l", "app.kubernetes.io/name=temblor-agent",
		"-o", "jsonpath={.items[*].metadata.uid}")
	uids := strings.Fields(out)
	if err != nil || len(uids) != 1 {
		return 0
	}
	return testutil.PodProcessPID(uids[0], "agent")
}
