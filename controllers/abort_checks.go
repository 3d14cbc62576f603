package controllers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// defaultAbortHTTPClient follows no redirect (a redirect could lead outside
// the URL policy) and ignores the proxy environment.
var defaultAbortHTTPClient = sync.OnceValue(func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
})

// maxAbortBody is how much of a check's response body is read (and
// discarded) so that the connection can be reused.
const maxAbortBody = 64 << 10

// evaluateHTTP GETs the check's URL: Pass on an expected status code, Fail
// on another, Error when the URL is not allowed or does not answer in time.
func (r *FaultReconciler) evaluateHTTP(ctx context.Context, ns string, c *chaosv1.HTTPAbortCheck) abortEval {
	code, _, err := r.abortGet(ctx, ns, c.URL, c.URL, c.Timeout, 0)
	if err != nil {
		return abortEval{chaosv1.AbortError, err.Error()}
	}
	value := fmt.Sprintf("HTTP %d", code)
	if expectedStatus(code, c.ExpectedStatusCodes) {
		return abortEval{chaosv1.AbortPass, value}
	}
	return abortEval{chaosv1.AbortFail, value}
}

// abortGet GETs target for a check of a Fault in ns once policyURL passes
// the URL policy, within timeout (the default when nil), and returns the
// status code and up to keep bytes of the body. Its errors read as the
// value of a check that could not be evaluated.
func (r *FaultReconciler) abortGet(ctx context.Context, ns, policyURL, target string, timeout *metav1.Duration, keep int64) (int, []byte, error) {
	podIP := func(ip netip.Addr) bool { return r.podOfNamespaceHas(ctx, ns, ip) }
	if err := abortURLAllowed(policyURL, ns, r.AbortCheckURLPrefixes, podIP); err != nil {
		return 0, nil, err
	}
	limit := defaultAbortHTTPTimeout
	if timeout != nil && timeout.Duration > 0 {
		limit = timeout.Duration
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %v", err)
	}
	req.Header.Set("User-Agent", "temblor-manager abort check")
	hc := r.HTTPClient
	if hc == nil {
		hc = defaultAbortHTTPClient()
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, fmt.Errorf("GET %s: no answer within %s", policyURL, limit)
		}
		return 0, nil, fmt.Errorf("GET %s: %v", policyURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, keep))
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: read body: %v", policyURL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAbortBody)) // let the connection be reused
	return resp.StatusCode, body, nil
}

// podOfNamespaceHas reports whether ip is the address of a pod of ns that
// does not share its node's network (a host-network pod's address is the
// node's, which a Fault must not point the manager at).
func (r *FaultReconciler) podOfNamespaceHas(ctx context.Context, ns string, ip netip.Addr) bool {
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		return false
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.HostNetwork || p.DeletionTimestamp != nil {
			continue
		}
		for _, a := range p.Status.PodIPs {
			if got, err := netip.ParseAddr(a.IP); err == nil && got.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// expectedStatus reports whether code passes: one of want, or by default
// any 2xx or 3xx.
func expectedStatus(code int, want []int32) bool {
	if len(want) == 0 {
		return code >= 200 && code < 400
	}
	return slices.Contains(want, int32(code))
}

// evaluatePods counts the Ready pods the check selects in ns: Fail below
// the floor, Error when none matches (a typo must not pass for healthy).
func (r *FaultReconciler) evaluatePods(ctx context.Context, ns string, c *chaosv1.PodsAbortCheck) abortEval {
	labels := make(client.MatchingLabels, len(c.MatchLabels))
	for k, v := range c.MatchLabels {
		labels[k] = string(v)
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(ns), labels); err != nil {
		return abortEval{chaosv1.AbortError, fmt.Sprintf("list pods: %v", err)}
	}
	total, ready := 0, 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded {
			continue // leaving on purpose, not hurt
		}
		total++
		if podReady(p) {
			ready++
		}
	}
	if total == 0 {
		return abortEval{chaosv1.AbortError, fmt.Sprintf("no pod in %s matches %v", ns, map[string]string(labels))}
	}
	pct := ready * 100 / total
	value := fmt.Sprintf("%d/%d ready (%d%%, floor %d%%)", ready, total, pct, c.MinReadyPercent)
	if int32(pct) < c.MinReadyPercent {
		return abortEval{chaosv1.AbortFail, value}
	}
	return abortEval{chaosv1.AbortPass, value}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
