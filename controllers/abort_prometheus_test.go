package controllers_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// queryAPI answers Prometheus's instant query endpoint with the JSON it
// holds and records the queries it got. It stands in for the server in the
// manager's envtest; the e2e suite runs the check against a real Prometheus.
type queryAPI struct {
	*httptest.Server
	mu      sync.Mutex
	code    int
	answer  string
	queries []string
}

func newQueryAPI(answer string) *queryAPI {
	q := &queryAPI{code: http.StatusOK, answer: answer}
	q.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q.mu.Lock()
		defer q.mu.Unlock()
		if r.URL.Path != "/prom/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		q.queries = append(q.queries, r.URL.Query().Get("query"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(q.code)
		_, _ = w.Write([]byte(q.answer))
	}))
	DeferCleanup(q.Close)
	return q
}

func (q *queryAPI) set(code int, answer string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.code, q.answer = code, answer
}

func (q *queryAPI) seen() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.queries...)
}

// vectorOf is a one-series vector answer holding value.
func vectorOf(value string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764892800.123,"` + value + `"]}]}}`
}

// promCondition queries q every second.
func promCondition(name string, q *queryAPI, query string, above, below *string) chaosv1.AbortCondition {
	return chaosv1.AbortCondition{
		Name: name,
		Prometheus: &chaosv1.PrometheusAbortCheck{URL: q.URL + "/prom", Query: query, FailAbove: above, FailBelow: below,
			Timeout: &metav1.Duration{Duration: 500 * time.Millisecond}},
		Period: &metav1.Duration{Duration: time.Second},
	}
}

var _ = Describe("Prometheus abort conditions", func() {
	const errorRate = `sum(rate(http_requests_total{code=~"5.."}[1m]))`

	It("aborts when the query's value rises above failAbove, keeping the history of values", func(ctx SpecContext) {
		q := newQueryAPI(vectorOf("0.01"))
		f := runningAbortFault(ctx, "prom-above", promCondition("errors", q, errorRate, ptr.To("0.05"), nil))
		st := checkStatus(ctx, f, "errors", 1)
		Expect(st.LastResult).To(Equal(chaosv1.AbortPass), st.LastValue)
		Expect(st.LastValue).To(Equal(errorRate + " = 0.01"))
		q.set(http.StatusOK, vectorOf("0.05")) // at the threshold still passes
		Expect(nextCheck(ctx, f, "errors").LastResult).To(Equal(chaosv1.AbortPass))
		Expect(q.seen()).To(HaveEach(errorRate), "the query went out unaltered")

		q.set(http.StatusOK, vectorOf("0.25"))
		fakeClock.Step(time.Second)
		expectAborted(ctx, f, "errors", Equal(errorRate+" = 0.25 (fails above 0.05)"))

		got := getFault(ctx, f)(Default)
		h := got.Status.AbortChecks[0].History
		Expect(h).To(HaveLen(3))
		Expect([]chaosv1.AbortResult{h[0].Result, h[1].Result, h[2].Result}).To(Equal(
			[]chaosv1.AbortResult{chaosv1.AbortPass, chaosv1.AbortPass, chaosv1.AbortFail}))
		Expect(h[2].Value).To(Equal(errorRate + " = 0.25 (fails above 0.05)"))
		Expect(h[0].Time.Before(&h[1].Time) && h[1].Time.Before(&h[2].Time)).To(BeTrue(), "oldest first")
		// The report's timeline: when the node injected and when it confirmed teardown.
		Expect(got.Status.Nodes).To(HaveLen(1))
		Expect(got.Status.Nodes[0].FirstInjectedTime).NotTo(BeNil())
		Expect(got.Status.Nodes[0].RemovedTime).NotTo(BeNil())
		Expect(got.Status.Nodes[0].RemovedTime.Before(&h[2].Time)).To(BeFalse())
	})

	It("aborts when a scalar falls below failBelow", func(ctx SpecContext) {
		q := newQueryAPI(`{"status":"success","data":{"resultType":"scalar","result":[1764892800,"0.5"]}}`)
		f := abortFault(ctx, "prom-below", promCondition("availability", q, "scalar(avg(up))", nil, ptr.To("0.9")))
		expectAborted(ctx, f, "availability", Equal("scalar(avg(up)) = 0.5 (fails below 0.9)"))
	})

	It("keeps the last 20 evaluations only", func(ctx SpecContext) {
		q := newQueryAPI(vectorOf("1"))
		f := runningAbortFault(ctx, "prom-history", promCondition("load", q, "sum(load)", ptr.To("100"), nil))
		checkStatus(ctx, f, "load", 1)
		var st chaosv1.AbortCheckStatus
		for range chaosv1.MaxAbortHistory + 2 {
			st = nextCheck(ctx, f, "load")
		}
		Expect(st.Evaluations).To(BeNumerically(">=", chaosv1.MaxAbortHistory+3))
		Expect(st.History).To(HaveLen(chaosv1.MaxAbortHistory))
		Expect(st.History[len(st.History)-1].Time.Equal(st.LastTime)).To(BeTrue(), "the newest sample is the last evaluation")
	})

	DescribeTable("reports an answer that is not one number as an error, never a pass",
		func(ctx SpecContext, code int, answer, want string) {
			q := newQueryAPI(answer)
			q.set(code, answer)
			c := promCondition("odd", q, "sum(x)", ptr.To("1"), nil)
			c.OnError = chaosv1.AbortOnErrorIgnore
			f := runningAbortFault(ctx, "prom-odd", c)
			st := checkStatus(ctx, f, "odd", 1)
			Expect(st.LastResult).To(Equal(chaosv1.AbortError))
			Expect(st.LastValue).To(ContainSubstring(want))
			Expect(getFault(ctx, f)(Default).Status.Phase).To(Equal(chaosv1.FaultRunning))
		},
		Entry("no series", http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]}}`,
			"query sum(x): 0 series, want exactly one (aggregate the query, e.g. with sum)"),
		Entry("two series", http.StatusOK,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`,
			"2 series, want exactly one"),
		Entry("a range result", http.StatusOK, `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
			`result type "matrix"`),
		Entry("a refused query", http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"parse error: unexpected end of input"}`,
			"bad_data: parse error: unexpected end of input"),
		Entry("NaN", http.StatusOK, vectorOf("NaN"), "value is NaN"),
		Entry("not Prometheus at all", http.StatusOK, `<html>hello</html>`, "HTTP 200, not a Prometheus query answer"),
	)

	It("does not query a server outside the allowed URLs", func(ctx SpecContext) {
		c := chaosv1.AbortCondition{Name: "elsewhere", Prometheus: &chaosv1.PrometheusAbortCheck{
			URL: "http://prometheus.monitoring.svc:9090", Query: "up", FailBelow: ptr.To("1")}}
		f := abortFault(ctx, "prom-policy", c)
		expectAborted(ctx, f, "elsewhere", ContainSubstring("is not allowed"))
	})

	DescribeTable("refuses at admission what cannot be a Prometheus check",
		func(ctx SpecContext, mutate func(*chaosv1.PrometheusAbortCheck), msg string) {
			c := chaosv1.AbortCondition{Name: "errors", Period: &metav1.Duration{Duration: time.Second},
				Prometheus: &chaosv1.PrometheusAbortCheck{URL: "http://127.0.0.1:9090", Query: "sum(up)", FailAbove: ptr.To("1")}}
			mutate(c.Prometheus)
			f := networkFault(newNamespace(ctx), "bad", "x")
			f.Spec.AbortConditions = []chaosv1.AbortCondition{c}
			err := k8sClient.Create(ctx, f)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(msg))
		},
		Entry("no threshold", func(p *chaosv1.PrometheusAbortCheck) { p.FailAbove = nil }, "set failAbove, failBelow or both"),
		Entry("a band that passes nothing", func(p *chaosv1.PrometheusAbortCheck) { p.FailBelow = ptr.To("2") },
			"failBelow must be less than failAbove"),
		Entry("a threshold that is no number", func(p *chaosv1.PrometheusAbortCheck) { p.FailAbove = ptr.To("5%") },
			"spec.abortConditions[0].prometheus.failAbove"),
		Entry("an empty query", func(p *chaosv1.PrometheusAbortCheck) { p.Query = "" }, "spec.abortConditions[0].prometheus.query"),
		Entry("a URL with a query", func(p *chaosv1.PrometheusAbortCheck) { p.URL = "http://127.0.0.1:9090/?query=up" },
			"no query"),
		Entry("a timeout as long as the period", func(p *chaosv1.PrometheusAbortCheck) {
			p.Timeout = &metav1.Duration{Duration: time.Second}
		}, "prometheus.timeout must be shorter than period"),
	)
})
