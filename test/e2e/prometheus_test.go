//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// prometheusImage is the Prometheus server that hack/build-prometheus.sh
// builds from source and `go run ./hack/cluster load-images` imports.
var prometheusImage = envOr("E2E_PROMETHEUS_IMAGE", "docker.io/temblor/e2e-prometheus:dev")

// The agent's metrics endpoint (config/agent/daemonset.yaml).
const (
	agentSelector    = "app.kubernetes.io/name=temblor-agent"
	agentMetricsPort = 8080
	// prometheusScrape is the deployed server's scrape interval.
	prometheusScrape = time.Second
)

// Prometheus abort checks against a real Prometheus server in the test
// namespace that scrapes the node agents' metrics: a check on the agent's
// drop counter aborts the Fault whose drops it counts.
var _ = Describe("Prometheus abort checks on a real node", Ordered, Label("abort", "prometheus"), func() {
	var ns, promURL, serverIP string
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		ns = testNamespace("temblor-e2e-prom")
		promURL = fmt.Sprintf("http://%s:9090", deployPrometheus(ns))
		apply(appPod(ns, "server", map[string]string{"app": "abort-prom", "role": "server"}, "server"))
		waitReady(ns, "server")
		serverIP = podIP(ns, "server")
		// 20 new connections a second (the client keeps none alive): under
		// a 100% drop every SYN and its retransmissions are dropped.
		apply(appPod(ns, "client", map[string]string{"app": "abort-prom", "role": "client"},
			"client", "--target", serverIP+":8000", "--proto", "http", "--rate", "20"))
		waitReady(ns, "client")
		expectHealthy(ns, "client", 30*time.Second)
	})

	It(fmt.Sprintf("a check on the agent's drop counter aborts a 100%% drop within its bound, over %d runs", abortRuns), func() {
		iw := watchInjections(ns)
		defer iw.Stop()
		const period, timeout, margin = time.Second, 500 * time.Millisecond, 20
		// The agent adds to its counters when it reads the BPF maps: at
		// injection, then every status interval. The drops cross the
		// threshold by the second reading, Prometheus has them within a
		// scrape interval, the check within its period and timeout, and the
		// teardown takes up to a second as for the other checks.
		refresh := agentStatusInterval()
		bound := refresh + prometheusScrape + period + timeout + time.Second
		boundParts := fmt.Sprintf("agent counter refresh %s + scrape interval %s + period %s + timeout %s + 1 s",
			refresh, prometheusScrape, period, timeout)
		value := regexp.MustCompile(`^sum\(temblor_packets_dropped_total\) = ([0-9.e+]+) \(fails above ([0-9.]+)\)$`)
		var react, detect []time.Duration
		for i := range abortRuns {
			name := fmt.Sprintf("prom-%02d", i)
			base := settledCounter(ns, "temblor_packets_dropped_total")
			failAbove := strconv.FormatFloat(base+margin, 'f', -1, 64)
			d, dd, f := abortRun(iw, ns, name, fmt.Sprintf(`  selector: {matchLabels: {role: server}}
  duration: 2m
  network: {type: Drop, direction: Ingress, probability: "100", protocol: TCP, destinationPorts: [{from: 8000}]}
  abortConditions:
  - name: drops
    period: %s
    prometheus:
      url: %s
      query: sum(temblor_packets_dropped_total)
      failAbove: %q
      timeout: %s
`, period, promURL, failAbove, timeout))
			Expect(f.Status.Abort.Condition).To(Equal("drops"))
			m := value.FindStringSubmatch(f.Status.Abort.Value)
			Expect(m).NotTo(BeNil(), "abort value %q", f.Status.Abort.Value)
			Expect(m[2]).To(Equal(failAbove))
			Expect(strconv.ParseFloat(m[1], 64)).To(BeNumerically(">", base+margin))
			react, detect = append(react, d), append(detect, dd)
			if i == 0 {
				reportAbortedFault(ns, name, "a Prometheus check")
			}
			mustKubectl("delete", "fault", "-n", ns, name, "--wait=false")
		}
		reportAbortReaction("Prometheus", react, detect, bound, boundParts)
		Expect(pct(react, 50)).To(BeNumerically("<=", bound))
		expectHealthy(ns, "client", 20*time.Second)
	})

	It("a query without series is an error that onError: Ignore only reports: the Fault keeps running", func() {
		const name = "no-series"
		apply(faultYAML(ns, name, fmt.Sprintf(`  selector: {matchLabels: {role: server}}
  duration: 2m
  network: {type: Drop, direction: Ingress, probability: "100", protocol: TCP, destinationPorts: [{from: 8000}]}
  abortConditions:
  - name: missing
    period: 1s
    onError: Ignore
    prometheus:
      url: %s
      query: sum(temblor_no_such_metric_total)
      failAbove: "0"
      timeout: 500ms
`, promURL)))
		get := func(path string) string { return jsonpath(ns, "fault", name, path) }
		Eventually(func(g Gomega) {
			g.Expect(get("{.status.phase}")).To(Equal("Running"))
			n, _ := strconv.Atoi(get("{.status.abortChecks[0].evaluations}"))
			g.Expect(n).To(BeNumerically(">=", 3), "evaluations")
			g.Expect(get("{.status.abortChecks[0].lastResult}")).To(Equal("Error"))
			g.Expect(get("{.status.abortChecks[0].lastValue}")).To(ContainSubstring("0 series"))
		}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		Consistently(func() string { return get("{.status.phase}") }).
			WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Equal("Running"))
		Expect(get("{.status.abort}")).To(BeEmpty())
		GinkgoWriter.Printf("%s: lastResult %s, lastValue %q after %s evaluations\n", name,
			get("{.status.abortChecks[0].lastResult}"), get("{.status.abortChecks[0].lastValue}"), get("{.status.abortChecks[0].evaluations}"))
		mustKubectl("delete", "fault", "-n", ns, name, "--timeout=60s")
		expectHealthy(ns, "client", 20*time.Second)
	})
})

// deployPrometheus runs a Prometheus server as the pod "prometheus" in ns,
// scraping every node agent's metrics each second (static targets: the
// agents' pod IPs, so nothing is resolved), waits until it is Ready and
// every target is up, and returns its pod IP.
func deployPrometheus(ns string) string {
	GinkgoHelper()
	targets := agentMetricsTargets()
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = fmt.Sprintf("%q", t)
	}
	apply(fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus
  namespace: %[1]s
data:
  prometheus.yml: |
    global:
      scrape_interval: %[2]s
      scrape_timeout: %[2]s
    scrape_configs:
    - job_name: temblor-agent
      metrics_path: /metrics
      fallback_scrape_protocol: PrometheusText0.0.4
      static_configs:
      - targets: [%[3]s]
---
apiVersion: v1
kind: Pod
metadata:
  name: prometheus
  namespace: %[1]s
  labels: {app: prometheus}
spec:
  terminationGracePeriodSeconds: 2
  automountServiceAccountToken: false
  enableServiceLinks: false
  containers:
  - name: prometheus
    image: %[4]s
    imagePullPolicy: %[5]s
    args:
    - --config.file=/etc/prometheus/prometheus.yml
    - --storage.tsdb.path=/data
    - --storage.tsdb.retention.time=1h
    - --web.listen-address=:9090
    ports:
    - {name: http, containerPort: 9090}
    readinessProbe:
      httpGet: {path: /-/ready, port: 9090}
      periodSeconds: 1
    resources:
      requests: {cpu: 50m, memory: 64Mi}
      limits: {memory: 512Mi}
    securityContext:
      runAsNonRoot: true
      runAsUser: 65534
      runAsGroup: 65534
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    volumeMounts:
    - {name: config, mountPath: /etc/prometheus, readOnly: true}
    - {name: data, mountPath: /data}
  volumes:
  - name: config
    configMap: {name: prometheus}
  - name: data
    emptyDir: {}
`, ns, prometheusScrape, strings.Join(quoted, ", "), prometheusImage, pullPolicy))
	start := time.Now()
	noImage := ""
	Eventually(func(g Gomega) {
		out, err := kubectl("get", "pod", "-n", ns, "prometheus", "-o",
			`jsonpath={.status.containerStatuses[0].state.waiting.reason} {.status.conditions[?(@.type=="Ready")].status}`)
		g.Expect(err).NotTo(HaveOccurred())
		f := strings.Fields(out)
		if len(f) > 0 && (f[0] == "ErrImageNeverPull" || f[0] == "ErrImagePull" || f[0] == "ImagePullBackOff") {
			noImage = f[0]
			return
		}
		g.Expect(f).To(ContainElement("True"), "prometheus Ready")
	}).WithTimeout(90 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	if noImage != "" {
		kubectl("delete", "pod", "-n", ns, "prometheus", "--wait=false")
		skipOrFail(fmt.Sprintf("no Prometheus image %s on the node (%s): run hack/build-prometheus.sh, then `go run ./hack/cluster load-images`", prometheusImage, noImage))
	}
	Eventually(func(g Gomega) {
		up, err := prometheusQuery(ns, `up{job="temblor-agent"}`)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(up).To(HaveLen(len(targets)), "one up series per agent")
		for _, s := range up {
			g.Expect(s.value).To(Equal(1.0), "up of %v", s.metric)
		}
		active, err := prometheusQuery(ns, "temblor_faults_active")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(active).To(HaveLen(len(targets)), "temblor_faults_active of every agent")
	}).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "Prometheus scrapes %v", targets)
	ip := podIP(ns, "prometheus")
	GinkgoWriter.Printf("Prometheus %s at %s scrapes the agents %v (ready and up in %s)\n",
		prometheusImage, ip, targets, time.Since(start).Round(time.Millisecond))
	return ip
}

// agentMetricsTargets is IP:port of every node agent's metrics endpoint.
func agentMetricsTargets() []string {
	GinkgoHelper()
	out := mustKubectl("get", "pods", "-n", "temblor-system", "-l", agentSelector,
		"-o", `jsonpath={range .items[?(@.status.podIP)]}{.status.podIP}{"\n"}{end}`)
	var targets []string
	for _, ip := range strings.Fields(out) {
		targets = append(targets, fmt.Sprintf("%s:%d", ip, agentMetricsPort))
	}
	Expect(targets).NotTo(BeEmpty(), "agent pods with an IP")
	return targets
}

// agentStatusInterval is the agents' --status-interval (the agent's
// default, 5s, when the DaemonSet does not set it): how often an agent
// reads its BPF counters into status and metrics.
func agentStatusInterval() time.Duration {
	GinkgoHelper()
	out := mustKubectl("get", "ds", "-n", "temblor-system", "temblor-agent", "-o", "jsonpath={.spec.template.spec.containers[0].args}")
	var args []string
	if strings.TrimSpace(out) != "" {
		Expect(json.Unmarshal([]byte(out), &args)).To(Succeed(), "agent args %q", out)
	}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--status-interval="); ok {
			d, err := time.ParseDuration(v)
			Expect(err).NotTo(HaveOccurred())
			return d
		}
	}
	return 5 * time.Second
}

// promSample is one series of an instant query's vector.
type promSample struct {
	metric map[string]string
	value  float64
}

// prometheusQuery makes an instant query of the server in ns through the
// API server's pod proxy.
func prometheusQuery(ns, query string) ([]promSample, error) {
	out, err := kubectl("get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/prometheus:9090/proxy/api/v1/query?query=%s", ns, url.QueryEscape(query)))
	if err != nil {
		return nil, err
	}
	var a struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		return nil, fmt.Errorf("query %s: %v: %s", query, err, out)
	}
	if a.Status != "success" || a.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: status %q, result type %q: %s", query, a.Status, a.Data.ResultType, a.Error)
	}
	samples := make([]promSample, len(a.Data.Result))
	for i, r := range a.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: sample %v: %v", query, r.Value, err)
		}
		samples[i] = promSample{r.Metric, v}
	}
	return samples, nil
}

// agentCounter is the sum of a metric without labels over every agent's
// /metrics, read through the API server's pod proxy.
func agentCounter(name string) (float64, error) {
	out, err := kubectl("get", "pods", "-n", "temblor-system", "-l", agentSelector, "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, pod := range strings.Fields(out) {
		text, err := kubectl("get", "--raw", fmt.Sprintf("/api/v1/namespaces/temblor-system/pods/%s:%d/proxy/metrics", pod, agentMetricsPort))
		if err != nil {
			return 0, err
		}
		found := false
		for _, line := range strings.Split(text, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == name {
				v, err := strconv.ParseFloat(f[1], 64)
				if err != nil {
					return 0, fmt.Errorf("%s of %s: %v", name, pod, err)
				}
				sum, found = sum+v, true
			}
		}
		if !found {
			return 0, fmt.Errorf("%s does not export %s", pod, name)
		}
	}
	return sum, nil
}

// settledCounter waits until the Prometheus server in ns holds the agents'
// current value of the counter name (no fault counts in between) and
// returns it: a threshold above it is crossed only by new counts.
func settledCounter(ns, name string) float64 {
	GinkgoHelper()
	var v float64
	Eventually(func(g Gomega) {
		want, err := agentCounter(name)
		g.Expect(err).NotTo(HaveOccurred())
		got, err := prometheusQuery(ns, "sum("+name+")")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(HaveLen(1))
		g.Expect(got[0].value).To(Equal(want), "Prometheus has the agents' %s", name)
		v = want
	}).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	return v
}
