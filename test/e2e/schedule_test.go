//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/temblor-dev/temblor/cmd/temblorctl/app"
)

// scheduleStatus is the part of a FaultSchedule's status this suite reads.
type scheduleStatus struct {
	LastSuccessfulTime string `json:"lastSuccessfulTime"`
	Runs               []struct {
		FaultName     string `json:"faultName"`
		ScheduledTime string `json:"scheduledTime"`
		Outcome       string `json:"outcome"`
		Reason        string `json:"reason"`
		Message       string `json:"message"`
	} `json:"runs"`
}

// getScheduleStatus reads the status of the FaultSchedule name in ns.
func getScheduleStatus(g Gomega, ns, name string) scheduleStatus {
	out, err := kubectl("get", "faultschedule", "-n", ns, name, "-o", "jsonpath={.status}")
	g.Expect(err).NotTo(HaveOccurred())
	var st scheduleStatus
	g.Expect(json.Unmarshal([]byte(out), &st)).To(Succeed(), "status %q", out)
	return st
}

// temblorctl runs the CLI in this process against the suite's cluster and
// returns its stdout; a non-zero exit fails the spec with its stderr.
func temblorctl(args ...string) string {
	GinkgoHelper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := app.Main(ctx, "temblorctl", append([]string{"--kubeconfig", kubeconfig}, args...),
		app.IO{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
	Expect(code).To(BeZero(), "temblorctl %s: %s", strings.Join(args, " "), stderr.String())
	return stdout.String()
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
		apply(appPod(ns, "forbid-victim", map[string]string{"app": "demo", "role": "forbid-victim"},
			"client", "--target", podIP(ns, "server")+":8000", "--proto", "http", "--rate", "10"))
		waitReady(ns, "forbid-victim")
		// Runs for 90 s every minute: each run still runs when the next one
		// is due, so Forbid skips every other minute. It ticks alongside the
		// first spec's schedule and is checked after it.
		apply(fmt.Sprintf(`apiVersion: chaos.temblor.dev/v1alpha1
kind: FaultSchedule
metadata:
  name: forbid
  namespace: %s
spec:
  schedule: "*/1 * * * *"
  concurrencyPolicy: Forbid
  faultTemplate:
    spec:
      selector:
        matchLabels: {role: forbid-victim}
      duration: 90s
      syscall: {syscalls: [connect], errno: ECONNREFUSED}
`, ns))
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
			st = getScheduleStatus(g, ns, "every-minute")
			succeeded := 0
			for _, r := range st.Runs {
				if r.Outcome == "Succeeded" {
					succeeded++
				}
			}
			g.Expect(succeeded).To(BeNumerically(">=", 3), "runs %+v", st.Runs)
		}).WithTimeout(5 * time.Minute).WithPolling(5 * time.Second).Should(Succeed())
		AddReportEntry("FaultSchedule status after three runs", mustKubectl("get", "faultschedule", "-n", ns, "every-minute", "-o", "jsonpath={.status}")+
			"\n\n"+mustKubectl("get", "faultschedule", "-n", ns, "-o", "wide"))

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

		// What happened in the latest finished run that is still kept: the
		// report CI reads (JSON) and the one people read (table).
		var run string
		for _, r := range st.Runs {
			if r.Outcome == "Succeeded" {
				if _, err := kubectl("get", "fault", "-n", ns, r.FaultName); err == nil {
					run = r.FaultName
				}
			}
		}
		Expect(run).NotTo(BeEmpty(), "no kept Succeeded run among %+v", st.Runs)
		var rep app.Report
		Expect(json.Unmarshal([]byte(temblorctl("report", "-n", ns, "-o", "json", run)), &rep)).To(Succeed())
		Expect(rep.Name).To(Equal(run))
		Expect(rep.Phase).To(Equal("Succeeded"))
		Expect(rep.Targets).To(ConsistOf(HaveField("Pod", "victim")))
		Expect(rep.Counters.SyscallsFailed).To(BeNumerically(">", 0), "a 10 s connect fault on a client connecting 10 times a second failed none")
		whats := make([]string, len(rep.Timeline))
		for i, e := range rep.Timeline {
			whats[i] = e.What
			if i > 0 {
				Expect(e.Time).NotTo(BeTemporally("<", rep.Timeline[i-1].Time), "timeline out of order: %+v", rep.Timeline)
			}
		}
		Expect(whats).To(ContainElements("created", "injected", "expired", "torn down (agent confirmed)"), "timeline %+v", rep.Timeline)
		Expect(whats[len(whats)-1]).To(HavePrefix("completed: "))
		AddReportEntry("temblorctl report "+run, temblorctl("report", "-n", ns, run))
	})

	It("Forbid skips the run due while the previous one still runs", func() {
		var st scheduleStatus
		Eventually(func(g Gomega) {
			st = getScheduleStatus(g, ns, "forbid")
			outcomes := map[string]int{}
			for _, r := range st.Runs {
				outcomes[r.Outcome]++
			}
			g.Expect(outcomes["Skipped"]).To(BeNumerically(">=", 1), "runs %+v", st.Runs)
			g.Expect(outcomes["Succeeded"]).To(BeNumerically(">=", 1), "runs %+v", st.Runs)
		}).WithTimeout(4 * time.Minute).WithPolling(5 * time.Second).Should(Succeed())
		for _, r := range st.Runs {
			if r.Outcome == "Skipped" {
				Expect(r.Reason).To(Equal("RunSkipped"))
				Expect(r.Message).To(ContainSubstring("concurrencyPolicy Forbid"))
				_, err := kubectl("get", "fault", "-n", ns, r.FaultName)
				Expect(err).To(HaveOccurred(), "skipped run %s has a Fault", r.FaultName)
			}
		}
		Expect(mustKubectl("get", "events", "-n", ns, "--field-selector", "reason=RunSkipped,involvedObject.name=forbid",
			"-o", "name")).NotTo(BeEmpty(), "no RunSkipped Event on the schedule")
		// Never two runs at once: at most one of its Faults is not finished.
		out := mustKubectl("get", "faults", "-n", ns, "-l", "chaos.temblor.dev/schedule=forbid",
			"-o", "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}")
		active := 0
		for _, phase := range strings.Fields(out) {
			if phase != "Succeeded" && phase != "Failed" && phase != "Aborted" {
				active++
			}
		}
		Expect(active).To(BeNumerically("<=", 1), "faults of the Forbid schedule: %s", out)
		AddReportEntry("FaultSchedule Forbid: runs", mustKubectl("get", "faultschedule", "-n", ns, "forbid", "-o", "jsonpath={.status.runs}"))
	})

	It("deletes its Faults with the schedule (owner references, garbage collection)", func() {
		mustKubectl("delete", "faultschedule", "-n", ns, "every-minute", "forbid", "--wait=true", "--timeout=60s")
		Eventually(func() string {
			out, _ := kubectl("get", "faults", "-n", ns, "-l", "chaos.temblor.dev/schedule in (every-minute,forbid)", "-o", "name")
			return strings.TrimSpace(out)
		}).WithTimeout(60 * time.Second).WithPolling(2 * time.Second).Should(BeEmpty())
	})
})
