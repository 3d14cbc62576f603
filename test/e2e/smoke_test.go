//go:build e2e

package e2e

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Cluster smoke", Ordered, Label("smoke"), func() {
	var ns string
	dumpOnFailure(&ns)

	BeforeAll(func() {
		ns = testNamespace("temblor-e2e-smoke")
	})

	It("has a Ready node", func() {
		out := mustKubectl("get", "nodes", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		Expect(out).To(ContainSubstring("=True"))
	})

	It("runs a demo server and a client that talks to it", func() {
		apply(appPod(ns, "server", map[string]string{"app": "demo", "role": "server"}, "server"))
		waitReady(ns, "server")
		ip := podIP(ns, "server")
		for _, proto := range []struct{ name, port string }{{"http", "8000"}, {"tcp", "7000"}, {"udp", "7001"}} {
			apply(appPod(ns, "client-"+proto.name, map[string]string{"app": "demo", "role": "client"},
				"client", "--target", ip+":"+proto.port, "--proto", proto.name, "--rate", "10"))
		}
		for _, proto := range []string{"http", "tcp", "udp"} {
			pod := "client-" + proto
			waitReady(ns, pod)
			Eventually(func(g Gomega) {
				s, err := stats(ns, pod)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(s.WindowSent).To(BeNumerically(">=", 10), "requests in the window")
				g.Expect(s.SuccessRate).To(BeNumerically(">=", 0.95), "success rate (last error %q)", s.LastError)
			}).WithTimeout(30*time.Second).WithPolling(time.Second).Should(Succeed(), proto)
		}
	})

	It("serves logs through the kubelet (by node IP, no DNS)", func() {
		out := mustKubectl("logs", "-n", ns, "server")
		Expect(strings.TrimSpace(out)).To(ContainSubstring("server server"))
	})
})
