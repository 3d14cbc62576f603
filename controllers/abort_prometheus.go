package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// maxPrometheusBody bounds the query answer read: one sample is a few
// hundred bytes, so a larger answer is a query that needs aggregating.
const maxPrometheusBody = 1 << 20

// evaluatePrometheus makes the check's instant query: Fail when its one
// sample crosses a threshold, Pass otherwise, Error when the server is not
// allowed, does not answer, refuses the query or gives anything but one
// number.
func (r *FaultReconciler) evaluatePrometheus(ctx context.Context, ns string, c *chaosv1.PrometheusAbortCheck) abortEval {
	above, below, err := prometheusThresholds(c)
	if err != nil {
		return abortEval{chaosv1.AbortError, err.Error()}
	}
	target, err := prometheusQueryURL(c.URL, c.Query)
	if err != nil {
		return abortEval{chaosv1.AbortError, err.Error()}
	}
	code, body, err := r.abortGet(ctx, ns, c.URL, target, c.Timeout, maxPrometheusBody)
	if err != nil {
		return abortEval{chaosv1.AbortError, err.Error()}
	}
	v, err := prometheusSample(code, body)
	if err != nil {
		return abortEval{chaosv1.AbortError, fmt.Sprintf("query %s: %v", shortQuery(c.Query), err)}
	}
	value := fmt.Sprintf("%s = %s", shortQuery(c.Query), strconv.FormatFloat(v, 'g', -1, 64))
	switch {
	case above != nil && v > *above:
		return abortEval{chaosv1.AbortFail, value + " (fails above " + *c.FailAbove + ")"}
	case below != nil && v < *below:
		return abortEval{chaosv1.AbortFail, value + " (fails below " + *c.FailBelow + ")"}
	}
	return abortEval{chaosv1.AbortPass, value}
}

// prometheusThresholds parses the check's thresholds; the CRD's pattern
// already admits only decimal numbers, but the object may come from
// anywhere.
func prometheusThresholds(c *chaosv1.PrometheusAbortCheck) (above, below *float64, err error) {
	parse := func(field string, s *string) (*float64, error) {
		if s == nil {
			return nil, nil
		}
		f, err := strconv.ParseFloat(*s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s %q is not a decimal number", field, *s)
		}
		return &f, nil
	}
	if above, err = parse("failAbove", c.FailAbove); err != nil {
		return nil, nil, err
	}
	if below, err = parse("failBelow", c.FailBelow); err != nil {
		return nil, nil, err
	}
	if above == nil && below == nil {
		return nil, nil, fmt.Errorf("no threshold: set failAbove, failBelow or both")
	}
	return above, below, nil
}

// prometheusQueryURL is base's instant query endpoint with the query.
func prometheusQueryURL(base, query string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("url %q: %v", base, err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("url %s: the server's base URL takes no query or fragment", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
	u.RawQuery = url.Values{"query": {query}}.Encode()
	return u.String(), nil
}

// prometheusAnswer is the part of the query API's answer the check reads.
type prometheusAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// prometheusSample reads the one number of an instant query's answer.
func prometheusSample(code int, body []byte) (float64, error) {
	var a prometheusAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, fmt.Errorf("HTTP %d, not a Prometheus query answer: %v", code, err)
	}
	if a.Status != "success" {
		if a.Error == "" {
			return 0, fmt.Errorf("HTTP %d, status %q", code, a.Status)
		}
		return 0, fmt.Errorf("%s: %s", a.ErrorType, a.Error)
	}
	var raw [2]json.RawMessage // [time, "value"]
	switch a.Data.ResultType {
	case "scalar":
		if err := json.Unmarshal(a.Data.Result, &raw); err != nil {
			return 0, fmt.Errorf("scalar result: %v", err)
		}
	case "vector":
		var series []struct {
			Value [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(a.Data.Result, &series); err != nil {
			return 0, fmt.Errorf("vector result: %v", err)
		}
		if len(series) != 1 {
			return 0, fmt.Errorf("%d series, want exactly one (aggregate the query, e.g. with sum)", len(series))
		}
		raw = series[0].Value
	default:
		return 0, fmt.Errorf("result type %q, want a scalar or a vector of one series", a.Data.ResultType)
	}
	var s string
	if err := json.Unmarshal(raw[1], &s); err != nil {
		return 0, fmt.Errorf("sample value: %v", err)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %q: %v", s, err)
	}
	if math.IsNaN(v) {
		return 0, fmt.Errorf("value is NaN")
	}
	return v, nil
}

// shortQuery is query cut to fit a status value.
func shortQuery(q string) string {
	return truncate(strings.Join(strings.Fields(q), " "), 96)
}
