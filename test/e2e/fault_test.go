//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Each scenario applies one Fault (with the real kubectl) to a "victim"
// client pod that sends HTTP requests to a demo server, and checks that the
// victim's requests fail the expected way while a "control" client next to it
// keeps working, that the agent holds BPF programs while the Fault runs, and
// that everything recovers and is released when the Fault expires.
var _ = Describe("Syscall fault connect=ECONNREFUSED", Ordered, Label("fault", "syscall"), func() {
	faultScenario("refuse-connect", `  syscall:
    syscalls: [connect]
    errno: ECONNREFUSED
`, "connection refused", "syscallsFailed")
})

var _ = Describe("Network fault drop TCP port 8000", Ordered, Label("fault", "network"), func() {
	faultScenario("drop-8000", `  network:
    type: Drop
    direction: Both
    probability: "100"
    protocol: TCP
    ports: [{from: 8000}]
`, "Client.Timeout", "packetsDropped")
})

func faultScenario(faultName, action, wantErr, counter string) {
	const duration = 40 * time.Second
	var ns, serverIP string
	var links0, progs0 int
	var local bool
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		ns = testNamespace("temblor-e2e-" + faultName)
		apply(appPod(ns, "server", map[string]string{"app": "demo", "role": "server"}, "server"))
		waitReady(ns, "server")
		serverIP = podIP(ns, "server")
		for _, name := range []string{"victim", "control"} {
			apply(appPod(ns, name, map[string]string{"app": "demo", "role": name},
				"client", "--target", serverIP+":8000", "--proto", "http", "--rate", "10"))
		}
		for _, name := range []string{"victim", "control"} {
			waitReady(ns, name)
			expectHealthy(ns, name, 30*time.Second)
		}
		links0, progs0, local = agentBPFFds()
		GinkgoWriter.Printf("agent BPF fds before the fault: links=%d progs=%d (visible: %v)\n", links0, progs0, local)
	})

	It("is accepted by the API server (kubectl apply)", func() {
		apply(fmt.Sprintf(`apiVersion: chaos.temblor.dev/v1alpha1
kind: Fault
metadata:
  name: %s
  namespace: %s
spec:
  selector:
    matchLabels: {role: victim}
  mode: All
  duration: %s
%s`, faultName, ns, duration, action))
	})

	It("selects the victim pod and runs", func() {
		Eventually(func(g Gomega) {
			phase, err := kubectl("get", "fault", "-n", ns, faultName, "-o", "jsonpath={.status.phase}")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(phase).To(Equal("Running"))
			n, _ := kubectl("get", "fault", "-n", ns, faultName, "-o", "jsonpath={.status.targetCount}")
			g.Expect(n).To(Equal("1"))
		}).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Succeed())
	})

	It("makes the victim's requests fail ("+wantErr+")", func() {
		Eventually(func(g Gomega) {
			s, err := stats(ns, "victim")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.WindowSent).To(BeNumerically(">=", 10))
			g.Expect(s.SuccessRate).To(BeNumerically("<=", 0.05))
			g.Expect(s.LastError).To(ContainSubstring(wantErr))
		}).WithTimeout(20 * time.Second).WithPolling(time.Second).Should(Succeed())
	})

	It("holds its BPF programs in the agent while it runs", func() {
		if !local {
			Skip("the agent's process is not visible from here (not root on the node)")
		}
		links, progs, _ := agentBPFFds()
		GinkgoWriter.Printf("agent BPF fds during the fault: links=%d progs=%d\n", links, progs)
		Expect(links + progs).To(BeNumerically(">", links0+progs0))
	})

	It("leaves the control client alone", func() {
		Consistently(func(g Gomega) {
			s, err := stats(ns, "control")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.SuccessRate).To(BeNumerically(">=", 0.95), "last error %q", s.LastError)
		}).WithTimeout(5 * time.Second).WithPolling(time.Second).Should(Succeed())
	})

	It("counts "+counter+" in status", func() {
		Eventually(func(g Gomega) {
			out, err := kubectl("get", "fault", "-n", ns, faultName, "-o", "jsonpath={.status.counters."+counter+"}")
			g.Expect(err).NotTo(HaveOccurred())
			n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
			g.Expect(n).To(BeNumerically(">", 0))
		}).WithTimeout(20 * time.Second).WithPolling(time.Second).Should(Succeed())
	})

	It("ends at expiry; the victim recovers and the agent releases its programs", func() {
		Eventually(func(g Gomega) {
			phase, err := kubectl("get", "fault", "-n", ns, faultName, "-o", "jsonpath={.status.phase}")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(phase).To(Equal("Succeeded"))
		}).WithTimeout(duration + 30*time.Second).WithPolling(time.Second).Should(Succeed())
		expectHealthy(ns, "victim", 20*time.Second)
		if local {
			Eventually(func() int {
				links, progs, _ := agentBPFFds()
				return links + progs
			}).WithTimeout(10*time.Second).Should(Equal(links0+progs0), "BPF links and programs released at expiry")
		}
	})

	It("removes the Fault and its FaultInjections on delete", func() {
		mustKubectl("delete", "fault", "-n", ns, faultName, "--timeout=60s")
		Eventually(func() (string, error) {
			return kubectl("get", "faultinjections", "-n", ns, "-o", "name")
		}).WithTimeout(30 * time.Second).Should(BeEmpty())
	})
}

// requireTemblor skips (fails in CI) unless the CRDs, the manager and an
// agent are deployed and ready.
func requireTemblor() {
	GinkgoHelper()
	if _, err := kubectl("get", "crd", "faults.chaos.temblor.dev"); err != nil {
		skipOrFail("Temblor is not deployed (no Fault CRD): run `go run ./hack/cluster deploy`")
	}
	out, err := kubectl("get", "deploy", "-n", "temblor-system", "temblor-manager", "-o", "jsonpath={.status.availableReplicas}")
	if err != nil || strings.TrimSpace(out) == "" || strings.TrimSpace(out) == "0" {
		skipOrFail("temblor-manager is not available")
	}
	out, err = kubectl("get", "ds", "-n", "temblor-system", "temblor-agent", "-o", "jsonpath={.status.numberReady}")
	if err != nil || strings.TrimSpace(out) == "" || strings.TrimSpace(out) == "0" {
		skipOrFail("temblor-agent is not ready on any node")
	}
}

func expectHealthy(ns, pod string, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		s, err := stats(ns, pod)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(s.WindowSent).To(BeNumerically(">=", 10), "requests in the window")
		g.Expect(s.SuccessRate).To(BeNumerically(">=", 0.95), "success rate (last error %q)", s.LastError)
	}).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed(), pod)
}

// agentBPFFds counts the bpf links and programs the node agent holds open,
// by reading its /proc/<pid>/fd from the host. It works only when the suite
// runs as root on the cluster's (single) node, as with hack/cluster; ok is
// false elsewhere and the teardown is then judged from status alone.
func agentBPFFds() (links, progs int, ok bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	out, err := kubectl("get", "pods", "-n", "temblor-system", "-l", "app.kubernetes.io/name=temblor-agent",
		"-o", "jsonpath={.items[*].metadata.uid}")
	uids := strings.Fields(out)
	if err != nil || len(uids) != 1 {
		return 0, 0, false
	}
	uid := strings.ReplaceAll(uids[0], "-", "_")
	uidDash := uids[0]
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if !(strings.Contains(string(cg), "pod"+uidDash) || strings.Contains(string(cg), "pod"+uid)) ||
			strings.TrimSpace(string(comm)) == "pause" {
			continue
		}
		fds, err := os.ReadDir("/proc/" + e.Name() + "/fd")
		if err != nil {
			continue
		}
		ok = true
		for _, fd := range fds {
			l, _ := os.Readlink("/proc/" + e.Name() + "/fd/" + fd.Name())
			switch l {
			case "anon_inode:bpf_link":
				links++
			case "anon_inode:bpf-prog":
				progs++
			}
		}
	}
	return links, progs, ok
}
