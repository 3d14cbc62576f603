//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// scheduleStatus is the part of a FaultSchedule's status this suite reads.
type scheduleStatus struct {
	LastSuccessfulTime string `json:"lastSuccessfulTime"`
	Runs               []struct {
		FaultName     string `json:"faultName"`
		ScheduledTime string `json:"scheduledTime"`
		Outcome       string `json:"outcome"`
		Reason        string `json:"reason"`
	} `json:"runs"`
}

var _ = Describe("FaultSchedule", Ordered, Label("schedule"), func() {
	var ns string
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		if _, err := kubectl("get", "crd", "faultschedules.chaos.temblor.dev"); err != nil {
			skipOrFail("no FaultSchedule CRD: redeploy Temblor (`go run ./hack/cluster deploy`)")
		}
		ns = testNamespace("temblor-e2e-schedule")
		apply(appPod(ns, "server", map[string]string{"app": "demo", "role": "server"}, "server"))
		waitReady(ns, "server")
		apply(appPod(ns, "victim", map[string]string{"app": "demo", "role": "victim"},
			"client", "--target", podIP(ns, "server")+":8000", "--proto", "http", "--rate", "10"))
		waitReady(ns, "victim")
	})

	It("runs a */1 schedule three times, keeps the history limit and skips nothing", func() {
		apply(fmt.Sprintf(`apiVersion: chaos.temblor.dev/v1alpha1
kind: FaultSchedule
metadata:
  name: every-minute
  namespace: %s
spec:
  schedule: "*/1 * * * *"
  concurrencyPolicy: Forbid
  successfulRunsHistoryLimit: 2
  faultTemplate:
    metadata:
      labels: {game-day: e2e}
    spec:
      selector:
        matchLabels: {role: victim}
      duration: 10s
      syscall: {syscalls: [connect], errno: ECONNREFUSED}
`, ns))
		var st scheduleStatus
		Eventually(func(g Gomega) {
			out, err := kubectl("get", "faultschedule", "-n", ns, "every-minute", "-o", "jsonpath={.status}")
			g.Expect(err).NotTo(HaveOccurred())
			st = scheduleStatus{}
			g.Expect(json.Unmarshal([]byte(out), &st)).To(Succeed())
			succeeded := 0
			for _, r := range st.Runs {
				if r.Outcome == "Succeeded" {
					succeeded++
				}
			}
			g.Expect(succeeded).To(BeNumerically(">=", 3), "runs %+v", st.Runs)
		}).WithTimeout(5 * time.Minute).WithPolling(5 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("schedule status after three runs: %+v\n", st)
		GinkgoWriter.Println(mustKubectl("get", "faultschedule", "-n", ns, "-o", "wide"))

		for _, r := range st.Runs {
			Expect(r.Outcome).NotTo(Equal("Skipped"), "Forbid skipped %s: a 10s fault never overlaps a minute", r.FaultName)
			Expect(r.Outcome).NotTo(Equal("Missed"))
			Expect(r.FaultName).To(HavePrefix("every-minute-"))
		}
		Expect(st.LastSuccessfulTime).NotTo(BeEmpty())

		// History limit: at most two finished Faults are kept (plus at most
		// one running).
		Eventually(func(g Gomega) {
			out, err := kubectl("get", "faults", "-n", ns, "-l", "chaos.temblor.dev/schedule=every-minute",
				"-o", "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}")
			g.Expect(err).NotTo(HaveOccurred())
			finished := 0
			for _, phase := range strings.Fields(out) {
				if phase == "Succeeded" || phase == "Failed" {
					finished++
				}
			}
			g.Expect(finished).To(BeNumerically("<=", 2), "faults: %s", out)
		}).WithTimeout(30 * time.Second).WithPolling(2 * time.Second).Should(Succeed())
		GinkgoWriter.Println(mustKubectl("get", "faults", "-n", ns, "-l", "chaos.temblor.dev/schedule=every-minute"))
	})

	It("deletes its Faults with the schedule (owner references, garbage collection)", func() {
		mustKubectl("delete", "faultschedule", "-n", ns, "every-minute", "--wait=true", "--timeout=60s")
		Eventually(func() string {
			out, _ := kubectl("get", "faults", "-n", ns, "-l", "chaos.temblor.dev/schedule=every-minute", "-o", "name")
			return strings.TrimSpace(out)
		}).WithTimeout(60 * time.Second).WithPolling(2 * time.Second).Should(BeEmpty())
	})
})
