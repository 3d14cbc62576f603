package app_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// webFault drops the packets of the app=web pods for duration.
const webFault = `apiVersion: chaos.temblor.dev/v1alpha1
kind: Fault
metadata:
  name: %s
spec:
  selector:
    matchLabels: {app: %s}
  duration: %s
  network:
    type: Drop
    direction: Egress
    probability: "30"
`

func TestValidate(t *testing.T) {
	tc := startCluster(t)
	valid := []string{"../../../experiments/db-connection-refused/fault.yaml", "../../../experiments/flaky-dependency/fault.yaml"}
	tooLong := writeFile(t, "too-long.yaml", fmt.Sprintf(webFault, "too-long", "web", "48h"))
	unknown := writeFile(t, "unknown.yaml", strings.Replace(fmt.Sprintf(webFault, "typo", "web", "1m"), "probability:", "probabilty:", 1))

	r := temblorctl(t.Context(), t, nil, tc.flags(append([]string{"validate"}, valid...)...)...)
	if r.code != 0 || strings.Count(r.stdout, ": OK") != len(valid) || !strings.Contains(r.stdout, "syscall connect ECONNREFUSED 100%") {
		t.Fatalf("valid experiments: exit %d, want 0 and %d OKs", r.code, len(valid))
	}
	r = temblorctl(t.Context(), t, nil, tc.flags("validate", "-f", valid[0], "-f", tooLong, "-f", unknown)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 for invalid manifests", r.code)
	}
	for _, want := range []string{
		valid[0] + ": OK",
		tooLong + ": INVALID",
		"duration must be between 1s and 24h", // the CRD's CEL rule, from the API server
		unknown + ": INVALID",
		`unknown field "probabilty"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Nothing was created: validate is a dry run.
	var list chaosv1.FaultList
	if err := tc.c.List(t.Context(), &list, client.InNamespace(testNamespace), client.MatchingFields{"metadata.name": "too-long"}); err != nil || len(list.Items) != 0 {
		t.Errorf("validate created something: %v %v", list.Items, err)
	}
}

// TestRunWaitSucceeds follows a 3s fault to its end and checks what the
// plain (non-terminal) display reported on the way.
func TestRunWaitSucceeds(t *testing.T) {
	tc := startCluster(t)
	file := writeFile(t, "fault.yaml", fmt.Sprintf(webFault, "short-drop", "web", "3s"))
	start := time.Now()
	r := temblorctl(t.Context(), t, nil, tc.flags("run", "-f", file, "--wait")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0", r.code)
	}
	// Status times have a resolution of one second: the expiry may come up to
	// a second early.
	if took := time.Since(start); took < 2*time.Second || took > 30*time.Second {
		t.Errorf("took %s for a 3s fault", took)
	}
	for _, want := range []string{"fault/short-drop created in namespace game-day", "phase=Running targets=2", "node-a Injected 1/1", "node-b Injected 1/1", "fault/short-drop Succeeded: Expired"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Counters climbed while it ran: several distinct drop counts were shown.
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`packets matched \d+, dropped (\d+)`).FindAllStringSubmatch(r.stdout, -1) {
		seen[m[1]] = true
	}
	if len(seen) < 3 {
		t.Errorf("counters did not climb: saw %v", seen)
	}

	r = temblorctl(t.Context(), t, nil, tc.flags("get")...)
	if r.code != 0 || !regexp.MustCompile(`(?m)^NAME\s+ACTION\s+PHASE\s+TARGETS\s+LEFT\s+AGE$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^short-drop\s+drop egress 30%\s+Succeeded\s+2\s+-\s+\d+s$`).MatchString(r.stdout) {
		t.Errorf("get: unexpected table")
	}
}

// TestGetDescribeStop drives a long fault: get and describe while it runs,
// then stop --wait.
func TestGetDescribeStop(t *testing.T) {
	tc := startCluster(t)
	file := writeFile(t, "fault.yaml", fmt.Sprintf(webFault, "long-drop", "web", "1h"))
	if r := temblorctl(t.Context(), t, nil, tc.flags("run", "-f", file)...); r.code != 0 {
		t.Fatalf("run: exit %d", r.code)
	}
	key := client.ObjectKey{Namespace: testNamespace, Name: "long-drop"}
	waitFor(t, 20*time.Second, "both nodes injected", func() bool {
		f := &chaosv1.Fault{}
		if err := tc.c.Get(t.Context(), key, f); err != nil {
			return false
		}
		injected := 0
		for _, n := range f.Status.Nodes {
			if n.Phase == chaosv1.InjectionInjected && n.Counters.PacketsDropped > 0 {
				injected++
			}
		}
		return injected == 2
	})

	// No -n: the namespace comes from the kubeconfig's context.
	r := temblorctl(t.Context(), t, nil, tc.flags("get", "long-drop")...)
	if r.code != 0 || !regexp.MustCompile(`(?m)^long-drop\s+drop egress 30%\s+Running\s+2\s+(59m\d+s|1h0m0s)\s+\d+s$`).MatchString(r.stdout) {
		t.Errorf("get: unexpected table")
	}
	r = temblorctl(t.Context(), t, nil, tc.flags("describe", "long-drop", "-n", testNamespace)...)
	for _, want := range []string{
		"Name:         long-drop", "Selector:     app=web", "Mode:         All", "Duration:     1h0m0s", "Phase:        Running",
		"node-a: Injected, 1/1 injected, packets matched", "pod web-0: Injected via eth0 ingress xdp-native; eth0 egress tcx",
		"TargetsSelected", "TargetsResolved", "Selected targets: selected 2 of 2 matching pods on 2 nodes",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q", want)
		}
	}

	r = temblorctl(t.Context(), t, nil, tc.flags("stop", "long-drop", "--wait")...)
	if r.code != 0 || !strings.Contains(r.stdout, "fault/long-drop stopped and removed") {
		t.Fatalf("stop --wait: exit %d", r.code)
	}
	if err := tc.c.Get(t.Context(), key, &chaosv1.Fault{}); !apierrors.IsNotFound(err) {
		t.Errorf("fault still there after stop --wait: %v", err)
	}
	if r := temblorctl(t.Context(), t, nil, tc.flags("describe", "long-drop")...); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("describe of a stopped fault: exit %d", r.code)
	}
}

// TestRunWaitInterrupted checks that SIGINT stops the followed fault.
func TestRunWaitInterrupted(t *testing.T) {
	tc := startCluster(t)
	file := writeFile(t, "fault.yaml", fmt.Sprintf(webFault, "interrupted", "web", "1h"))
	sigs := make(chan os.Signal, 1)
	go func() {
		time.Sleep(2 * time.Second)
		sigs <- syscall.SIGINT
	}()
	r := temblorctl(t.Context(), t, sigs, tc.flags("run", "-f", file, "--wait")...)
	if r.code != 130 || !strings.Contains(r.stderr, "interrupted: stopping fault/interrupted") {
		t.Fatalf("exit %d, want 130", r.code)
	}
	waitFor(t, 20*time.Second, "the interrupted fault to be gone", func() bool {
		return apierrors.IsNotFound(tc.c.Get(t.Context(), client.ObjectKey{Namespace: testNamespace, Name: "interrupted"}, &chaosv1.Fault{}))
	})
}

// TestRunWaitFailed checks the exit status and reason of a refused fault.
func TestRunWaitFailed(t *testing.T) {
	tc := startCluster(t)
	file := writeFile(t, "fault.yaml", fmt.Sprintf(webFault, "no-targets", "nothing", "1m"))
	r := temblorctl(t.Context(), t, nil, tc.flags("run", "-f", file, "--wait")...)
	if r.code != 1 || !strings.Contains(r.stderr, "fault/no-targets Failed: NoTargets: the selector matches no running pod in namespace game-day") {
		t.Fatalf("exit %d, want 1 with the reason", r.code)
	}
}

// TestNamespaceMismatch checks that -n and the manifest must agree.
func TestNamespaceMismatch(t *testing.T) {
	tc := startCluster(t)
	file := writeFile(t, "fault.yaml", strings.Replace(fmt.Sprintf(webFault, "elsewhere", "web", "1m"), "name: elsewhere", "name: elsewhere\n  namespace: other", 1))
	r := temblorctl(t.Context(), t, nil, tc.flags("run", "-f", file, "-n", testNamespace)...)
	if r.code != 1 || !strings.Contains(r.stderr, `does not match the namespace "game-day"`) {
		t.Fatalf("exit %d, want 1 with a namespace mismatch", r.code)
	}
}
