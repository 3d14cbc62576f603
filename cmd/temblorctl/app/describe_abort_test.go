package app

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// TestDescribeAborts: an aborted Fault says by which condition, when and
// what was observed, and lists every condition with its last evaluation;
// a Fault without conditions prints nothing.
func TestDescribeAborts(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 30, 0, time.UTC)
	at := metav1.MicroTime{Time: now.Add(-20 * time.Second)}
	half, zero := "0.5", "0"
	f := &chaosv1.Fault{
		Spec: chaosv1.FaultSpec{AbortConditions: []chaosv1.AbortCondition{
			{Name: "checkout-healthy", HTTP: &chaosv1.HTTPAbortCheck{URL: "http://checkout.shop.svc/healthz"},
				Period: &metav1.Duration{Duration: time.Second}, FailureThreshold: 2},
			{Name: "web-ready", Pods: &chaosv1.PodsAbortCheck{
				MatchLabels: map[string]chaosv1.SelectorValue{"app": "web"}, MinReadyPercent: 80}, OnError: chaosv1.AbortOnErrorIgnore},
			{Name: "error-rate", Prometheus: &chaosv1.PrometheusAbortCheck{URL: "http://prometheus.shop.svc:9090",
				Query: "sum(errors)", FailAbove: &half, FailBelow: &zero}},
		}},
		Status: chaosv1.FaultStatus{
			Phase: chaosv1.FaultAborted,
			Abort: &chaosv1.AbortStatus{Condition: "checkout-healthy", Value: "HTTP 503", Time: at},
			AbortChecks: []chaosv1.AbortCheckStatus{{
				Name: "checkout-healthy", LastTime: &at, LastResult: chaosv1.AbortFail, LastValue: "HTTP 503",
				ConsecutiveFailures: 2, Evaluations: 7, Failures: 3,
			}},
		},
	}
	var b bytes.Buffer
	describeAborts(&b, f, now)
	out := b.String()
	for _, re := range []string{
		`(?m)^Aborted:      by checkout-healthy at 2026-12-04T10:00:10Z \(20s ago\), observed HTTP 503$`,
		`(?m)^  NAME\s+CHECK\s+EVERY\s+THRESHOLD\s+ON ERROR\s+LAST\s+VALUE\s+EVALUATIONS\s+FAILURES$`,
		`(?m)^  checkout-healthy\s+GET http://checkout.shop.svc/healthz\s+1s\s+2\s+Abort\s+Fail 20s ago\s+HTTP 503\s+7\s+3 \(2 in a row\)$`,
		`(?m)^  web-ready\s+pods app=web ready >= 80%\s+5s\s+1\s+Ignore\s+-\s+-\s+0\s+0 \(0 in a row\)$`,
		`(?m)^  error-rate\s+query sum\(errors\) within 0..0.5\s+5s\s+1\s+Abort\s+-\s+-\s+0\s+0 \(0 in a row\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("describe lacks %s in:\n%s", re, out)
		}
	}

	b.Reset()
	describeAborts(&b, &chaosv1.Fault{}, now)
	if b.Len() != 0 {
		t.Errorf("a Fault without abort conditions printed %q", b.String())
	}
}
