package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AbortCondition ends a running Fault at once when the system under test is
// hurt more than planned: the manager evaluates it every period while the
// Fault runs, and after failureThreshold failed evaluations in a row tears
// the Fault down through the normal teardown and ends it Aborted.
// +kubebuilder:validation:XValidation:rule="[has(self.http), has(self.pods), has(self.prometheus)].filter(x, x).size() == 1",message="set exactly one of http, pods and prometheus"
// +kubebuilder:validation:XValidation:rule="!has(self.http) || !has(self.http.timeout) || duration(self.http.timeout) < duration(has(self.period) ? self.period : '5s')",message="http.timeout must be shorter than period"
// +kubebuilder:validation:XValidation:rule="!has(self.prometheus) || !has(self.prometheus.timeout) || duration(self.prometheus.timeout) < duration(has(self.period) ? self.period : '5s')",message="prometheus.timeout must be shorter than period"
type AbortCondition struct {
	// name identifies the condition in status, Events and reports: a DNS
	// label, unique within the Fault.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// http fails when a GET of the URL does not answer with an expected
	// status code in time.
	// +optional
	HTTP *HTTPAbortCheck `json:"http,omitempty"`

	// pods fails when too few of the pods a selector names are Ready.
	// +optional
	Pods *PodsAbortCheck `json:"pods,omitempty"`

	// prometheus fails when an instant query's value crosses a threshold.
	// +optional
	Prometheus *PrometheusAbortCheck `json:"prometheus,omitempty"`

	// period is the time between evaluations, from 1s to 1h (default 5s).
	// The first evaluation is as soon as the Fault runs.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="period must be between 1s and 1h"
	Period *metav1.Duration `json:"period,omitempty"`

	// failureThreshold is how many failed evaluations in a row abort the
	// Fault, from 1 (the default) to 100.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	FailureThreshold int32 `json:"failureThreshold,omitempty"`

	// onError says what an evaluation that could not be made counts as (an
	// unreachable or refused URL, no pod matching): Abort (the default)
	// counts it as a failure, Ignore only reports it. It never counts as a
	// pass.
	// +optional
	// +kubebuilder:default=Abort
	OnError AbortOnError `json:"onError,omitempty"`
}

// AbortOnError is what an evaluation error counts as.
// +kubebuilder:validation:Enum=Abort;Ignore
type AbortOnError string

const (
	// AbortOnErrorAbort counts an evaluation error as a failure.
	AbortOnErrorAbort AbortOnError = "Abort"
	// AbortOnErrorIgnore reports an evaluation error without counting it.
	AbortOnErrorIgnore AbortOnError = "Ignore"
)

// HTTPAbortCheck is a GET from the manager. Redirects are not followed. The
// manager only calls URLs its policy allows: by default, services of the
// Fault's own namespace (http://NAME.NAMESPACE.svc[.cluster.local][:PORT]/...);
// more with its --abort-check-url-prefix flag.
type HTTPAbortCheck struct {
	// url is the http or https URL to GET.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="url must be an absolute http or https URL with a host"
	URL string `json:"url"`

	// expectedStatusCodes are the status codes that pass; by default any
	// 2xx or 3xx.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Minimum=100
	// +kubebuilder:validation:items:Maximum=599
	// +listType=set
	ExpectedStatusCodes []int32 `json:"expectedStatusCodes,omitempty"`

	// timeout bounds one GET, from 100ms to 10s (default 2s); shorter
	// than period.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms') && duration(self) <= duration('10s')",message="timeout must be between 100ms and 10s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// PodsAbortCheck watches the readiness of pods in the Fault's namespace.
type PodsAbortCheck struct {
	// matchLabels selects the pods, in the Fault's namespace; at least one
	// label.
	// +required
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$'))",message="label keys must be an optional DNS subdomain prefix and '/' followed by a name that starts and ends with [A-Za-z0-9] and holds only [-._A-Za-z0-9] inside, e.g. app or example.com/tier"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.indexOf('/') <= 253 && k.substring(k.indexOf('/') + 1).size() <= 63)",message="label key names must be at most 63 characters and prefixes at most 253"
	MatchLabels map[string]SelectorValue `json:"matchLabels"`

	// minReadyPercent fails the check when fewer than this percentage of
	// the selected pods are Ready, from 1 to 100.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MinReadyPercent int32 `json:"minReadyPercent"`
}

// PrometheusAbortCheck is an instant query of a Prometheus server, made by
// the manager (GET URL/api/v1/query). The query must give exactly one
// sample, a scalar or a vector of one series (aggregate it, e.g. with sum);
// none or several is an evaluation error, never a pass. The server's URL
// follows the same policy as an HTTP check's.
// +kubebuilder:validation:XValidation:rule="has(self.failAbove) || has(self.failBelow)",message="set failAbove, failBelow or both"
// +kubebuilder:validation:XValidation:rule="!has(self.failAbove) || !has(self.failBelow) || double(self.failBelow) < double(self.failAbove)",message="failBelow must be less than failAbove: the values between them pass"
type PrometheusAbortCheck struct {
	// url is the server's base URL, e.g. http://prometheus.monitoring.svc:9090;
	// the manager appends /api/v1/query.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != '' && url(self).getQuery().size() == 0",message="url must be an absolute http or https URL with a host and no query"
	URL string `json:"url"`

	// query is the PromQL expression, e.g.
	// sum(rate(http_requests_total{code=~"5.."}[1m])).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`

	// failAbove fails the check when the value is greater than this
	// decimal number, e.g. "0.05".
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`
	FailAbove *string `json:"failAbove,omitempty"`

	// failBelow fails the check when the value is less than this decimal
	// number.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`
	FailBelow *string `json:"failBelow,omitempty"`

	// timeout bounds one query, from 100ms to 10s (default 2s); shorter
	// than period.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms') && duration(self) <= duration('10s')",message="timeout must be between 100ms and 10s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// AbortResult is the outcome of one evaluation.
// +kubebuilder:validation:Enum=Pass;Fail;Error
type AbortResult string

const (
	// AbortPass: the system is within bounds.
	AbortPass AbortResult = "Pass"
	// AbortFail: the system is hurt more than planned.
	AbortFail AbortResult = "Fail"
	// AbortError: the evaluation could not be made.
	AbortError AbortResult = "Error"
)

// AbortCheckStatus is what the manager last saw of one abort condition.
type AbortCheckStatus struct {
	// name is the condition's name.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// lastTime is when it was last evaluated.
	// +optional
	LastTime *metav1.MicroTime `json:"lastTime,omitempty"`

	// lastResult is Pass, Fail or Error.
	// +optional
	LastResult AbortResult `json:"lastResult,omitempty"`

	// lastValue is what was observed, e.g. "HTTP 503" or "1/4 ready (25%)",
	// or why it could not be observed.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	LastValue string `json:"lastValue,omitempty"`

	// consecutiveFailures counts the failures (and, with onError Abort,
	// errors) since the last pass.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`

	// evaluations counts every evaluation.
	// +optional
	Evaluations int32 `json:"evaluations,omitempty"`

	// failures counts the evaluations that failed or erred.
	// +optional
	Failures int32 `json:"failures,omitempty"`

	// history holds the last evaluations, oldest first, at most
	// MaxAbortHistory of them.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	History []AbortSample `json:"history,omitempty"`
}

// MaxAbortHistory is how many evaluations an AbortCheckStatus keeps.
const MaxAbortHistory = 20

// AbortSample is one evaluation of an abort condition.
type AbortSample struct {
	// time is when it was made.
	// +required
	Time metav1.MicroTime `json:"time"`

	// result is Pass, Fail or Error.
	// +required
	Result AbortResult `json:"result"`

	// value is what was observed, shortened to 128 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Value string `json:"value,omitempty"`
}

// AbortStatus records why a Fault was aborted.
type AbortStatus struct {
	// condition is the name of the abort condition that fired.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Condition string `json:"condition"`

	// value is what it observed when it fired.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Value string `json:"value,omitempty"`

	// time is when it fired.
	// +required
	Time metav1.MicroTime `json:"time"`
}
