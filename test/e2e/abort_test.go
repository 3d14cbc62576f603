//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// abortRuns is how many Faults each abort spec runs, one after another.
var abortRuns, _ = strconv.Atoi(envOr("E2E_ABORT_RUNS", "20"))

// Abort conditions on the real node: a check that fails because of the
// fault itself ends it, and the reaction time (first target injected → every
// FaultInjection gone, i.e. every target detached and confirmed) is
// measured per check kind.
var _ = Describe("Abort conditions on a real node", Ordered, Label("abort"), func() {
	var ns string
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		ns = testNamespace("temblor-e2e-abort")
	})

	It(fmt.Sprintf("an HTTP check on the demo server aborts a 100%% drop on it within its bound, over %d runs", abortRuns), func() {
		apply(appPod(ns, "demo", map[string]string{"app": "abort-http"}, "server"))
		waitReady(ns, "demo")
		url := fmt.Sprintf("http://%s:8000/healthz", podIP(ns, "demo"))
		get := func() error {
			c := http.Client{Timeout: time.Second}
			resp, err := c.Get(url)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			return nil
		}
		Expect(get()).To(Succeed(), "the demo server answers before any fault")

		iw := watchInjections(ns)
		defer iw.Stop()
		const period, timeout = time.Second, 500 * time.Millisecond
		bound := time.Second + period + timeout
		var react, detect []time.Duration
		for i := range abortRuns {
			name := fmt.Sprintf("http-%02d", i)
			d, dd, f := abortRun(iw, ns, name, fmt.Sprintf(`  selector: {matchLabels: {app: abort-http}}
  duration: 2m
  network: {type: Drop, direction: Ingress, probability: "100", protocol: TCP, destinationPorts: [{from: 8000}]}
  abortConditions:
  - name: demo-healthy
    http: {url: %q, timeout: %s}
    period: %s
`, url, timeout, period))
			Expect(f.Status.Abort.Condition).To(Equal("demo-healthy"))
			Expect(f.Status.Abort.Value).To(ContainSubstring("no answer within 500ms"))
			Expect(get()).To(Succeed(), "%s: the demo server answers again once aborted", name)
			react, detect = append(react, d), append(detect, dd)
			if i == 0 {
				reportAbortedFault(ns, name, "an HTTP check")
			}
			mustKubectl("delete", "fault", "-n", ns, name, "--wait=false")
		}
		reportAbortReaction("HTTP", react, detect, bound, "1 s + period + timeout")
		Expect(pct(react, 50)).To(BeNumerically("<=", bound))
	})

	It(fmt.Sprintf("a readiness floor aborts when the fault makes the pods unready, over %d runs", abortRuns), func() {
		for _, p := range []string{"ready-0", "ready-1"} {
			apply(readyAppPod(ns, p, map[string]string{"app": "abort-ready"}))
		}
		for _, p := range []string{"ready-0", "ready-1"} {
			waitReady(ns, p)
		}
		iw := watchInjections(ns)
		defer iw.Stop()
		// The kubelet's probe (every second, 1 s timeout) is dropped: the
		// pod turns unready after up to 2 s, the check sees it within its
		// period.
		const period = time.Second
		bound := time.Second + period + 2*time.Second
		var react, detect []time.Duration
		for i := range abortRuns {
			name := fmt.Sprintf("ready-%02d", i)
			d, dd, f := abortRun(iw, ns, name, fmt.Sprintf(`  selector: {matchLabels: {app: abort-ready}}
  duration: 2m
  network: {type: Drop, direction: Ingress, probability: "100", protocol: TCP, destinationPorts: [{from: 8000}]}
  abortConditions:
  - name: web-ready
    pods: {matchLabels: {app: abort-ready}, minReadyPercent: 100}
    period: %s
`, period))
			Expect(f.Status.Abort.Condition).To(Equal("web-ready"))
			Expect(f.Status.Abort.Value).To(MatchRegexp(`^[01]/2 ready \([0-9]+%, floor 100%\)$`))
			react, detect = append(react, d), append(detect, dd)
			mustKubectl("delete", "fault", "-n", ns, name, "--wait=false")
			for _, p := range []string{"ready-0", "ready-1"} {
				waitReady(ns, p) // ready again once the drop is gone
			}
		}
		reportAbortReaction("pods readiness", react, detect, bound, "1 s + period + 2 s of failing probes")
		Expect(pct(react, 50)).To(BeNumerically("<=", bound))
	})
})

// readyAppPod is a demo server pod whose readiness the kubelet probes every
// second over HTTP on port 8000.
func readyAppPod(ns, name string, labels map[string]string) string {
	pod := appPod(ns, name, labels, "server")
	Expect(strings.HasSuffix(pod, "capabilities: {drop: [ALL]}\n")).To(BeTrue(), "appPod's YAML changed shape")
	return pod + `    readinessProbe:
      httpGet: {path: /healthz, port: 8000}
      periodSeconds: 1
      timeoutSeconds: 1
      failureThreshold: 1
      successThreshold: 1
`
}
