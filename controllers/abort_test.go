package controllers_test

import (
	"context"
	"io"
	stdnet "net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/controllers"
	"github.com/temblor-dev/temblor/internal/envtestutil"
)

// healthServer answers every request with the status code it holds.
type healthServer struct {
	*httptest.Server
	code atomic.Int32
}

func newHealthServer() *healthServer {
	h := &healthServer{}
	h.code.Store(http.StatusOK)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(h.code.Load()))
	}))
	DeferCleanup(h.Close)
	return h
}

// abortFault creates a network fault over app=<name> pods with conds.
func abortFault(ctx context.Context, name string, conds ...chaosv1.AbortCondition) *chaosv1.Fault {
	ns := newNamespace(ctx)
	ensureNode(ctx, "node-a")
	runningPod(ctx, ns, name+"-0", "node-a", map[string]string{"app": name})
	f := networkFault(ns, name, name)
	f.Spec.AbortConditions = conds
	Expect(k8sClient.Create(ctx, f)).To(Succeed())
	return f
}

// runningAbortFault is abortFault running, its FaultInjection answered by a
// fake agent.
func runningAbortFault(ctx context.Context, name string, conds ...chaosv1.AbortCondition) *chaosv1.Fault {
	f := abortFault(ctx, name, conds...)
	waitPhase(ctx, f, chaosv1.FaultRunning)
	Eventually(func(g Gomega) {
		items := injectionsOf(ctx, g, f)
		g.Expect(items).To(HaveLen(1))
		actAsAgent(ctx, &items[0], chaosv1.Counters{})
	}).Should(Succeed())
	return f
}

// httpCondition checks url every second.
func httpCondition(name, url string, threshold int32) chaosv1.AbortCondition {
	return chaosv1.AbortCondition{
		Name:             name,
		HTTP:             &chaosv1.HTTPAbortCheck{URL: url, Timeout: &metav1.Duration{Duration: 500 * time.Millisecond}},
		Period:           &metav1.Duration{Duration: time.Second},
		FailureThreshold: threshold,
	}
}

// checkStatus waits until the condition name has been evaluated at least n
// times and returns its status.
func checkStatus(ctx context.Context, f *chaosv1.Fault, name string, n int32) chaosv1.AbortCheckStatus {
	var st chaosv1.AbortCheckStatus
	Eventually(func(g Gomega) {
		got := getFault(ctx, f)(g)
		var found bool
		for _, c := range got.Status.AbortChecks {
			if c.Name == name {
				st, found = c, true
			}
		}
		g.Expect(found).To(BeTrue(), "no status for abort condition %s", name)
		g.Expect(st.Evaluations).To(BeNumerically(">=", n))
	}).Should(Succeed())
	return st
}

// nextCheck moves the clock past one check period and waits for the
// condition's next evaluation.
func nextCheck(ctx context.Context, f *chaosv1.Fault, name string) chaosv1.AbortCheckStatus {
	before := checkStatus(ctx, f, name, 1).Evaluations
	fakeClock.Step(time.Second)
	return checkStatus(ctx, f, name, before+1)
}

// expectAborted waits for f to be Aborted by condition with value, checks
// the Injected condition and the Event, confirms teardown as the agent and
// checks that the Fault ends Completed by the abort.
func expectAborted(ctx context.Context, f *chaosv1.Fault, condition string, value types.GomegaMatcher) {
	got := waitPhase(ctx, f, chaosv1.FaultAborted)
	Expect(got.Status.Abort).NotTo(BeNil())
	Expect(got.Status.Abort.Condition).To(Equal(condition))
	Expect(got.Status.Abort.Value).To(value)
	Expect(got.Status.Abort.Time.IsZero()).To(BeFalse())
	inj := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionInjected)
	Expect(inj).NotTo(BeNil())
	Expect(inj.Reason).To(Equal(chaosv1.ReasonAborted))
	Expect(inj.Message).To(ContainSubstring("abort condition " + condition))
	Eventually(func(g Gomega) {
		evs := eventsOf(ctx, g, f, chaosv1.ReasonAborted)
		g.Expect(evs).To(HaveLen(1))
		g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
		g.Expect(evs[0].Note).To(ContainSubstring(condition))
	}).Should(Succeed())

	confirmTeardown(ctx, f)
	Eventually(func(g Gomega) {
		got := getFault(ctx, f)(g)
		g.Expect(got.Status.Phase).To(Equal(chaosv1.FaultAborted))
		done := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionCompleted)
		g.Expect(done).NotTo(BeNil())
		g.Expect(done.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(done.Reason).To(Equal(chaosv1.ReasonAborted))
		g.Expect(done.Message).To(ContainSubstring("aborted by " + condition))
	}).Should(Succeed())
	// It stays Aborted: later reconciles neither re-inject nor re-check.
	fakeClock.Step(2 * time.Second)
	Consistently(func(g Gomega) {
		g.Expect(getFault(ctx, f)(g).Status.Phase).To(Equal(chaosv1.FaultAborted))
		g.Expect(injectionsOf(ctx, g, f)).To(BeEmpty())
	}).WithTimeout(1500 * time.Millisecond).Should(Succeed())
}

var _ = Describe("Abort conditions", func() {
	It("aborts at once when an HTTP check fails, tears down and says why", func(ctx SpecContext) {
		h := newHealthServer()
		f := runningAbortFault(ctx, "http-abort", httpCondition("health", h.URL+"/healthz", 1))
		st := checkStatus(ctx, f, "health", 1)
		Expect(st.LastResult).To(Equal(chaosv1.AbortPass))
		Expect(st.LastValue).To(Equal("HTTP 200"))
		st = nextCheck(ctx, f, "health")
		Expect(st.LastResult).To(Equal(chaosv1.AbortPass))
		Expect(getFault(ctx, f)(Default).Status.Phase).To(Equal(chaosv1.FaultRunning))

		h.code.Store(http.StatusServiceUnavailable)
		fakeClock.Step(time.Second)
		expectAborted(ctx, f, "health", Equal("HTTP 503"))
	})

	It("aborts only after failureThreshold failures in a row; a pass resets the count", func(ctx SpecContext) {
		h := newHealthServer()
		f := runningAbortFault(ctx, "threshold", httpCondition("health", h.URL, 3))
		checkStatus(ctx, f, "health", 1)
		h.code.Store(http.StatusInternalServerError)
		Expect(nextCheck(ctx, f, "health").ConsecutiveFailures).To(Equal(int32(1)))
		Expect(nextCheck(ctx, f, "health").ConsecutiveFailures).To(Equal(int32(2)))
		h.code.Store(http.StatusNoContent)
		st := nextCheck(ctx, f, "health")
		Expect(st.ConsecutiveFailures).To(BeZero())
		Expect(st.Failures).To(Equal(int32(2)))
		h.code.Store(http.StatusInternalServerError)
		Expect(nextCheck(ctx, f, "health").ConsecutiveFailures).To(Equal(int32(1)))
		Expect(nextCheck(ctx, f, "health").ConsecutiveFailures).To(Equal(int32(2)))
		Expect(getFault(ctx, f)(Default).Status.Phase).To(Equal(chaosv1.FaultRunning))
		fakeClock.Step(time.Second)
		expectAborted(ctx, f, "health", Equal("HTTP 500"))
	})

	It("shows up in kubectl get (phase, and the condition with -o wide) and kubectl describe", func(ctx SpecContext) {
		h := newHealthServer()
		h.code.Store(http.StatusBadGateway)
		f := abortFault(ctx, "shown", httpCondition("checkout-healthy", h.URL+"/healthz", 1))
		expectAborted(ctx, f, "checkout-healthy", Equal("HTTP 502"))

		get := kubectlOut("get", "faults", "-n", f.Namespace)
		wide := kubectlOut("get", "faults", "-n", f.Namespace, "-o", "wide")
		describe := kubectlOut("describe", "fault", "-n", f.Namespace, f.Name)
		AddReportEntry("kubectl get faults (aborted)", get)
		AddReportEntry("kubectl get faults -o wide (aborted)", wide)
		AddReportEntry("kubectl describe fault (aborted)", describe)
		lines := strings.Split(strings.TrimSpace(get), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "ACTION", "PHASE", "TARGETS", "LEFT", "AGE"}))
		Expect(lines[1]).To(MatchRegexp(`^shown\s+drop egress TCP 30% dports 5432\s+Aborted\s+1\s+0s\s+\S+$`))
		lines = strings.Split(strings.TrimSpace(wide), "\n")
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "ACTION", "PHASE", "TARGETS", "LEFT", "ABORTED-BY", "AGE"}))
		Expect(lines[1]).To(MatchRegexp(`\sAborted\s+1\s+0s\s+checkout-healthy\s`))
		Expect(describe).To(ContainSubstring("Phase:"))
		Expect(describe).To(MatchRegexp(`Abort:\s+Condition:\s+checkout-healthy`))
		Expect(describe).To(ContainSubstring("HTTP 502"))
		Expect(describe).To(MatchRegexp(`Warning\s+Aborted\s+.*Aborted the fault: abort condition checkout-healthy failed 1 time\(s\) in a row`))
	})

	It("takes the expected status codes from the spec: a 200 can be a failure", func(ctx SpecContext) {
		h := newHealthServer()
		c := httpCondition("maintenance-page", h.URL, 1)
		c.HTTP.ExpectedStatusCodes = []int32{http.StatusTeapot}
		f := abortFault(ctx, "codes", c)
		expectAborted(ctx, f, "maintenance-page", Equal("HTTP 200"))
	})

	It("does not abort on an unanswered check with onError Ignore, but reports every error", func(ctx SpecContext) {
		c := httpCondition("flaky-probe", closedPortURL(), 1)
		c.OnError = chaosv1.AbortOnErrorIgnore
		f := runningAbortFault(ctx, "ignore", c)
		st := checkStatus(ctx, f, "flaky-probe", 1)
		for range 2 {
			st = nextCheck(ctx, f, "flaky-probe")
		}
		Expect(st.LastResult).To(Equal(chaosv1.AbortError))
		Expect(st.LastValue).To(ContainSubstring("GET " + closedPortURL()))
		Expect(st.Failures).To(BeNumerically(">=", 3))
		Expect(st.ConsecutiveFailures).To(BeZero())
		Expect(getFault(ctx, f)(Default).Status.Phase).To(Equal(chaosv1.FaultRunning))
	})

	It("aborts on an unanswered check by default: an error never passes for healthy", func(ctx SpecContext) {
		f := abortFault(ctx, "unreachable", httpCondition("health", closedPortURL(), 1))
		expectAborted(ctx, f, "health", ContainSubstring("GET "+closedPortURL()))
	})

	It("never calls a URL outside the allowed ones: the check errs (and aborts) without a request", func(ctx SpecContext) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { calls.Add(1) }))
		DeferCleanup(srv.Close)
		// localhost is not 127.0.0.1: the suite allows only the latter.
		url := "http://localhost:" + strconv.Itoa(srv.Listener.Addr().(*stdnet.TCPAddr).Port) + "/"
		f := abortFault(ctx, "disallowed", httpCondition("elsewhere", url, 1))
		expectAborted(ctx, f, "elsewhere", ContainSubstring("not allowed"))
		Expect(calls.Load()).To(BeZero())
	})

	It("calls a pod of the Fault's namespace by its IP, but not a host-network pod's (the node's address)", func(ctx SpecContext) {
		// The suite allows http://127.0.0.1 only: 127.0.0.2 and 127.0.0.3
		// are reachable only as pod IPs.
		serve := func(addr string) string {
			l, err := stdnet.Listen("tcp", addr+":0")
			Expect(err).NotTo(HaveOccurred())
			srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ReadHeaderTimeout: time.Second}
			go func() { _ = srv.Serve(l) }()
			DeferCleanup(srv.Close)
			return "http://" + l.Addr().String() + "/healthz"
		}
		podURL, hostURL := serve("127.0.0.2"), serve("127.0.0.3")
		ns := newNamespace(ctx)
		ensureNode(ctx, "node-a")
		withIP := func(name, ip string, hostNetwork bool) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: corev1.PodSpec{NodeName: "node-a", HostNetwork: hostNetwork, AutomountServiceAccountToken: ptr.To(false),
					Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}},
			}
			Expect(k8sClient.Create(ctx, pod)).To(Succeed())
			pod.Status.Phase = corev1.PodRunning
			pod.Status.PodIP, pod.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
			Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		}
		withIP("health", "127.0.0.2", false)
		withIP("node-agent", "127.0.0.3", true)
		// Created after the pods above: once the Fault selected it, the
		// manager's cache holds their IPs too.
		runningPod(ctx, ns, "target", "node-a", map[string]string{"app": "pod-ip"})
		hostCheck := httpCondition("host-pod", hostURL, 1)
		hostCheck.OnError = chaosv1.AbortOnErrorIgnore
		f := networkFault(ns, "pod-ip", "pod-ip")
		f.Spec.AbortConditions = []chaosv1.AbortCondition{httpCondition("pod", podURL, 1), hostCheck}
		Expect(k8sClient.Create(ctx, f)).To(Succeed())

		st := checkStatus(ctx, f, "pod", 1)
		Expect(st.LastResult).To(Equal(chaosv1.AbortPass), st.LastValue)
		Expect(st.LastValue).To(Equal("HTTP 200"))
		st = checkStatus(ctx, f, "host-pod", 1)
		Expect(st.LastResult).To(Equal(chaosv1.AbortError))
		Expect(st.LastValue).To(ContainSubstring("is not allowed"))
		Expect(getFault(ctx, f)(Default).Status.Phase).To(Equal(chaosv1.FaultRunning))
	})

	It("aborts when the ready share of selected pods falls below the floor", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		ensureNode(ctx, "node-a")
		web := []*corev1.Pod{
			readyPod(ctx, ns, "web-0", true), readyPod(ctx, ns, "web-1", true),
		}
		runningPod(ctx, ns, "db-0", "node-a", map[string]string{"app": "db"})
		f := networkFault(ns, "readiness", "db")
		f.Spec.AbortConditions = []chaosv1.AbortCondition{{
			Name:   "web-ready",
			Pods:   &chaosv1.PodsAbortCheck{MatchLabels: map[string]chaosv1.SelectorValue{"role": "web"}, MinReadyPercent: 100},
			Period: &metav1.Duration{Duration: time.Second},
		}}
		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		waitPhase(ctx, f, chaosv1.FaultRunning)
		st := checkStatus(ctx, f, "web-ready", 1)
		Expect(st.LastResult).To(Equal(chaosv1.AbortPass))
		Expect(st.LastValue).To(Equal("2/2 ready (100%, floor 100%)"))

		setReady(ctx, web[1], false)
		fakeClock.Step(time.Second)
		expectAborted(ctx, f, "web-ready", Equal("1/2 ready (50%, floor 100%)"))
	})

	It("treats a pods check that selects nothing as an error, not as healthy", func(ctx SpecContext) {
		f := abortFault(ctx, "typo", chaosv1.AbortCondition{
			Name: "web-ready",
			Pods: &chaosv1.PodsAbortCheck{MatchLabels: map[string]chaosv1.SelectorValue{"role": "wbe"}, MinReadyPercent: 50},
		})
		got := waitPhase(ctx, f, chaosv1.FaultAborted)
		Expect(got.Status.Abort.Value).To(ContainSubstring("no pod in " + f.Namespace + " matches"))
		Expect(got.Status.AbortChecks).To(HaveLen(1))
		Expect(got.Status.AbortChecks[0].LastResult).To(Equal(chaosv1.AbortError))
	})

	DescribeTable("refuses at admission what cannot be a check",
		func(ctx SpecContext, mutate func(*chaosv1.AbortCondition), msg string) {
			ns := newNamespace(ctx)
			c := httpCondition("health", "http://127.0.0.1:8080/healthz", 1)
			mutate(&c)
			f := networkFault(ns, "bad", "x")
			f.Spec.AbortConditions = []chaosv1.AbortCondition{c}
			err := k8sClient.Create(ctx, f)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(msg))
		},
		Entry("both an HTTP and a pods check", func(c *chaosv1.AbortCondition) {
			c.Pods = &chaosv1.PodsAbortCheck{MatchLabels: map[string]chaosv1.SelectorValue{"a": "b"}, MinReadyPercent: 50}
		}, "set exactly one of http, pods and prometheus"),
		Entry("no check at all", func(c *chaosv1.AbortCondition) { c.HTTP = nil }, "set exactly one of http, pods and prometheus"),
		Entry("a timeout as long as the period", func(c *chaosv1.AbortCondition) {
			c.HTTP.Timeout = &metav1.Duration{Duration: time.Second}
		}, "http.timeout must be shorter than period"),
		Entry("a timeout longer than the default period", func(c *chaosv1.AbortCondition) {
			c.Period = nil
			c.HTTP.Timeout = &metav1.Duration{Duration: 6 * time.Second}
		}, "http.timeout must be shorter than period"),
		Entry("an ftp URL", func(c *chaosv1.AbortCondition) { c.HTTP.URL = "ftp://127.0.0.1/x" }, "absolute http or https URL"),
		Entry("a relative URL", func(c *chaosv1.AbortCondition) { c.HTTP.URL = "/healthz" }, "absolute http or https URL"),
		Entry("a period under a second", func(c *chaosv1.AbortCondition) {
			c.Period = &metav1.Duration{Duration: 500 * time.Millisecond}
			c.HTTP.Timeout = &metav1.Duration{Duration: 100 * time.Millisecond}
		}, "period must be between 1s and 1h"),
		Entry("a status code that is none", func(c *chaosv1.AbortCondition) { c.HTTP.ExpectedStatusCodes = []int32{42} }, "should be greater than or equal to 100"),
		Entry("a threshold of zero failures", func(c *chaosv1.AbortCondition) { c.FailureThreshold = -1 }, "failureThreshold"),
		Entry("an unknown onError", func(c *chaosv1.AbortCondition) { c.OnError = "Retry" }, `Unsupported value: "Retry"`),
		Entry("an upper-case name", func(c *chaosv1.AbortCondition) { c.Name = "Health" }, "spec.abortConditions[0].name"),
	)

	It("refuses two conditions with one name", func(ctx SpecContext) {
		f := networkFault(newNamespace(ctx), "dup", "x")
		f.Spec.AbortConditions = []chaosv1.AbortCondition{
			httpCondition("health", "http://127.0.0.1:1/a", 1), httpCondition("health", "http://127.0.0.1:1/b", 1),
		}
		err := k8sClient.Create(ctx, f)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("Duplicate value"))
	})
})

// closedPortURL is a URL on 127.0.0.1 where nothing listens.
func closedPortURL() string { return "http://127.0.0.1:1/healthz" }

// readyPod is a running role=web pod whose Ready condition is ready.
func readyPod(ctx context.Context, ns, name string, ready bool) *corev1.Pod {
	p := runningPod(ctx, ns, name, "node-a", map[string]string{"role": "web"})
	setReady(ctx, p, ready)
	return p
}

// setReady sets the pod's Ready condition, as a kubelet would.
func setReady(ctx context.Context, p *corev1.Pod, ready bool) {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
		g.Expect(k8sClient.Status().Update(ctx, p)).To(Succeed())
	}).Should(Succeed())
}

var _ = Describe("Abort sample", func() {
	It("config/samples/fault-abort.yaml is accepted by the CRD and its checks are ones the manager may run", func(ctx SpecContext) {
		data, err := os.ReadFile(filepath.Join(envtestutil.CRDDir(), "..", "..", "samples", "fault-abort.yaml"))
		Expect(err).NotTo(HaveOccurred())
		f := &chaosv1.Fault{}
		Expect(yaml.UnmarshalStrict(data, f)).To(Succeed())
		Expect(f.Spec.AbortConditions).To(HaveLen(3))
		Expect(controllers.AbortURLAllowed(f.Spec.AbortConditions[0].HTTP.URL, "shop", nil, nil)).To(Succeed())
		Expect(controllers.AbortURLAllowed(f.Spec.AbortConditions[2].Prometheus.URL, "shop", nil, nil)).To(Succeed())
		f.Namespace = newNamespace(ctx)
		Expect(k8sClient.Create(ctx, f, client.DryRunAll)).To(Succeed())
	})
})

// kubectlOut runs the envtest kubectl and returns its standard output.
func kubectlOut(args ...string) string {
	GinkgoHelper()
	stdout, stderr, err := testEnv.ControlPlane.KubeCtl().Run(args...)
	errText, _ := io.ReadAll(stderr)
	Expect(err).NotTo(HaveOccurred(), string(errText))
	out, err := io.ReadAll(stdout)
	Expect(err).NotTo(HaveOccurred())
	return string(out)
}
