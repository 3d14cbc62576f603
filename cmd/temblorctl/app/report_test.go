package app_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/cmd/temblorctl/app"
)

// TestReport runs a 2s fault over both nodes with an abort check that can
// only err (onError Ignore), lets it expire, and reads its report as JSON
// and as tables: the timeline in order, both nodes' injection and
// teardown, the counters and the check's evaluations.
func TestReport(t *testing.T) {
	tc := startCluster(t)
	manifest := fmt.Sprintf(webFault, "reported", "web", "2s") + `  abortConditions:
  - name: nobody-ready
    pods:
      matchLabels: {app: nobody}
      minReadyPercent: 50
    period: 1s
    onError: Ignore
`
	if r := temblorctl(t.Context(), t, nil, tc.flags("run", "-f", writeFile(t, "reported.yaml", manifest))...); r.code != 0 {
		t.Fatalf("run: exit %d", r.code)
	}
	key := client.ObjectKey{Namespace: testNamespace, Name: "reported"}
	waitFor(t, 30*time.Second, "the fault expired and every node confirmed teardown", func() bool {
		f := &chaosv1.Fault{}
		return tc.c.Get(t.Context(), key, f) == nil &&
			meta.IsStatusConditionTrue(f.Status.Conditions, chaosv1.ConditionCompleted)
	})

	r := temblorctl(t.Context(), t, nil, tc.flags("report", "reported", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("report -o json: exit %d", r.code)
	}
	var rep app.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report -o json is not a Report: %v\n%s", err, r.stdout)
	}
	if rep.Phase != "Succeeded" || len(rep.Targets) != 2 || len(rep.Nodes) != 2 || rep.Counters.PacketsDropped == 0 {
		t.Errorf("report: phase %q, %d targets, %d nodes, %d dropped; want Succeeded, 2, 2, >0",
			rep.Phase, len(rep.Targets), len(rep.Nodes), rep.Counters.PacketsDropped)
	}
	var steps []string
	for i, e := range rep.Timeline {
		steps = append(steps, strings.TrimSpace(e.Node+" "+strings.SplitN(e.What, ":", 2)[0]))
		if i > 0 && e.Time.Before(rep.Timeline[i-1].Time) {
			t.Errorf("timeline out of order at %d: %v", i, rep.Timeline)
		}
	}
	got := strings.Join(steps, ", ")
	for _, re := range []string{
		`^created, started, `,
		`node-a injected.*expired`, `node-b injected.*expired`,
		`expired.*node-a torn down`, `expired.*node-b torn down`,
		`, completed$`,
	} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("timeline %q does not match %s", got, re)
		}
	}
	if len(rep.AbortChecks) != 1 || rep.AbortChecks[0].Evaluations < 1 ||
		len(rep.AbortChecks[0].History) != int(min(rep.AbortChecks[0].Evaluations, chaosv1.MaxAbortHistory)) ||
		rep.AbortChecks[0].History[0].Result != chaosv1.AbortError {
		t.Errorf("abort checks in the report: %+v", rep.AbortChecks)
	}

	r = temblorctl(t.Context(), t, nil, tc.flags("report", "reported")...)
	if r.code != 0 {
		t.Fatalf("report: exit %d", r.code)
	}
	t.Logf("temblorctl report reported:\n%s", r.stdout)
	for _, re := range []string{
		`(?m)^Fault game-day/reported: drop egress 30%\nPhase: Succeeded$`,
		`(?m)^  TIME\s+\+\s+NODE\s+WHAT$`,
		`(?m)^  \d\d:\d\d:\d\d\.\d{3}\s+\+0s\s+-\s+created$`,
		`(?m)^  \d\d:\d\d:\d\d\.\d{3}\s+\+\S+\s+node-b\s+torn down \(agent confirmed\)$`,
		`(?m)^  web-0\s+node-a$`,
		`(?m)^  total\s+2\s+\d\s+\d+\s+\d+\s+0\s+\d+\s+\d+$`,
		`(?m)^Abort check nobody-ready \(pods app=nobody ready >= 50%\): \d+ evaluations, \d+ failed; last \d+:$`,
		`(?m)^  \d\d:\d\d:\d\d\.\d{3}\s+\+\S+\s+Error\s+no pod in game-day matches`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("report lacks %s", re)
		}
	}
	if r := temblorctl(t.Context(), t, nil, tc.flags("report", "reported", "-o", "yaml")...); r.code != 2 {
		t.Errorf("report -o yaml: exit %d, want 2", r.code)
	}
}
