//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// latencyRuns is how many Faults the latency spec applies, one after another.
const latencyRuns = 20

// The time from `kubectl apply` to a Running Fault whose targets are all
// injected, and how late teardown ends after the expiry time, over
// latencyRuns Faults on one target pod.
var _ = Describe("Injection latency and teardown lateness", Ordered, Label("latency"), func() {
	var ns string
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		ns = testNamespace("temblor-e2e-latency")
		apply(appPod(ns, "target", map[string]string{"app": "latency"}, "server"))
		waitReady(ns, "target")
	})

	It(fmt.Sprintf("injects within seconds and tears down on time, over %d runs", latencyRuns), func() {
		fw := watchFaults(ns)
		defer fw.Stop()
		var inject, injectAPI, late []time.Duration
		hops := make([][]time.Duration, len(latencyHops))
		for i := range latencyRuns {
			name := fmt.Sprintf("lat-%02d", i)
			start := time.Now()
			apply(faultYAML(ns, name, `  selector: {matchLabels: {app: latency}}
  duration: 3s
  syscall: {syscalls: [connect], errno: ECONNREFUSED}
`))
			var created, running time.Time
			Eventually(func() bool {
				created, running = fw.times(name)
				return !running.IsZero()
			}).WithTimeout(30*time.Second).WithPolling(time.Millisecond).Should(BeTrue(), "%s Running with its targets injected", name)
			Expect(created.IsZero()).To(BeFalse(), "%s seen Running before created", name)
			inject = append(inject, running.Sub(start))
			injectAPI = append(injectAPI, running.Sub(created))
			for i, d := range timeline(ns, name, start, created, running) {
				hops[i] = append(hops[i], d)
			}

			Eventually(func() string { return jsonpath(ns, "fault", name, "{.status.phase}") }).
				WithTimeout(30 * time.Second).WithPolling(50 * time.Millisecond).Should(Equal("Succeeded"))
			seen := time.Now()
			expiry, err := time.Parse(time.RFC3339, jsonpath(ns, "fault", name, "{.status.expiryTime}"))
			Expect(err).NotTo(HaveOccurred())
			// expiryTime has second precision: lateness is at most this plus one second.
			late = append(late, seen.Sub(expiry))
			mustKubectl("delete", "fault", "-n", ns, name, "--wait=false")
		}
		report := fmt.Sprintf("kubectl apply → Running with all targets injected: p50 %s p99 %s (n=%d)\n"+
			"created (API server) → Running with all targets injected: p50 %s p99 %s (n=%d)\n"+
			"expiry → Succeeded (teardown confirmed) seen after: p50 %s p99 %s (expiryTime has 1 s precision)",
			pct(inject, 50), pct(inject, 99), len(inject), pct(injectAPI, 50), pct(injectAPI, 99), len(injectAPI),
			pct(late, 50), pct(late, 99))
		report += "\nwhere the time goes (each hop on this machine's clock):"
		for i, h := range latencyHops {
			report += fmt.Sprintf("\n  %-66s p50 %8s p99 %8s", h, pct(hops[i], 50), pct(hops[i], 99))
		}
		AddReportEntry("latency", report)
		GinkgoWriter.Println(report)
		Expect(pct(inject, 99)).To(BeNumerically("<", 10*time.Second))
		Expect(pct(late, 99)).To(BeNumerically("<", 5*time.Second))
	})
})

// latencyHops name the steps of timeline, in order.
var latencyHops = []string{
	"kubectl apply (process start, validation, request) → Fault created",
	"created → manager selected targets (status.startTime)",
	"targets selected → agent acted on its FaultInjection (seenTime)",
	"agent acted → target attached (targets[].injectedTime)",
	"attached → manager saw it (status.firstInjectedTime)",
	"manager saw it → a watch saw Running/Injected",
}

// timeline splits one Fault's apply → Running time into latencyHops from
// the timestamps the manager and the agent write (microseconds, on the one
// node's clock): start is when apply began, created and running when a
// watch first saw the Fault and saw it Running with its targets injected.
func timeline(ns, name string, start, created, running time.Time) []time.Duration {
	at := func(s string) time.Time {
		GinkgoHelper()
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		Expect(err).NotTo(HaveOccurred(), "timestamp %q", s)
		return t
	}
	fi, err := kubectl("get", "faultinjections", "-n", ns, "-l", "chaos.temblor.dev/fault="+name,
		"-o", "jsonpath={.items[0].status.seenTime} {.items[0].status.targets[0].injectedTime}")
	Expect(err).NotTo(HaveOccurred())
	parts := strings.Fields(fi)
	Expect(parts).To(HaveLen(2), "seenTime and injectedTime of %s's FaultInjection: %q", name, fi)
	times := []time.Time{
		start,
		created,
		at(jsonpath(ns, "fault", name, "{.status.startTime}")),
		at(parts[0]),
		at(parts[1]),
		at(jsonpath(ns, "fault", name, "{.status.firstInjectedTime}")),
		running,
	}
	out := make([]time.Duration, len(latencyHops))
	for i := range out {
		out[i] = times[i+1].Sub(times[i])
	}
	return out
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))].Round(time.Millisecond)
}
