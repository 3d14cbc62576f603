package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	temblorctl "github.com/temblor-dev/temblor/cmd/temblorctl/app"
)

// experiment is one entry of experiments/ run by the demo.
type experiment struct {
	dir, file, what string
}

var demoExperiments = []experiment{
	{dir: "flaky-dependency", file: "fault.yaml", what: "20% of the client's packets to port 8080 dropped (tc BPF)"},
	{dir: "db-connection-refused", file: "fault.yaml", what: "the client's connect() calls to its dependency's port fail with ECONNREFUSED (cgroup BPF)"},
}

// result is what one experiment showed.
type result struct {
	name                         string
	baseline, worst, recovered   float64
	counters                     chaosv1.Counters
	injectedAfter, teardownAfter time.Duration
	phase                        chaosv1.FaultPhase
}

// runExperiment applies the experiment's manifest to the demo app (selector
// pointed at the client, duration shortened for the demo), follows it to
// its end and measures the recovery.
func runExperiment(ctx context.Context, c client.Client, app *demoApp, exp experiment, d time.Duration) (result, error) {
	r := result{name: exp.dir, worst: 1}
	path := filepath.Join("experiments", exp.dir, exp.file)
	data, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("read %s: %w", path, err)
	}
	f := &chaosv1.Fault{}
	if err := yaml.UnmarshalStrict(data, f); err != nil {
		return r, fmt.Errorf("parse %s: %w", path, err)
	}
	f.Namespace = demoNS
	f.Spec.Selector = chaosv1.PodSelector{MatchLabels: map[string]chaosv1.SelectorValue{"app": "checkout"}}
	f.Spec.Mode, f.Spec.Percent = chaosv1.ModeAll, nil
	f.Spec.Duration = metav1.Duration{Duration: d}
	if a := f.Spec.Syscall; a != nil && len(a.Ports) > 0 {
		// The demo has no database: its client's one dependency, the
		// pricing server on 8080, stands in for it.
		a.Ports = []chaosv1.PortRange{{From: 8080}}
	}
	fmt.Printf("applying %s (selector app=checkout, duration %s for the demo)\n", path, d)
	_ = c.Delete(ctx, &chaosv1.Fault{ObjectMeta: metav1.ObjectMeta{Namespace: demoNS, Name: f.Name}})
	if err := waitGone(ctx, c, f); err != nil {
		return r, err
	}
	start := time.Now()
	if err := c.Create(ctx, f); err != nil {
		return r, fmt.Errorf("create fault %s: %w", f.Name, err)
	}

	var cur chaosv1.Fault
	status := func() string {
		if err := c.Get(ctx, client.ObjectKeyFromObject(f), &cur); err != nil {
			return "fault: " + err.Error()
		}
		s := cur.Status
		if r.injectedAfter == 0 && meta(&cur, chaosv1.ConditionInjected) {
			r.injectedAfter = time.Since(start)
		}
		return fmt.Sprintf("%-9s left %-6s matched %-6d dropped %-6d syscalls failed %-6d",
			s.Phase, s.TimeLeft, s.Counters.PacketsMatched, s.Counters.PacketsDropped, s.Counters.SyscallsFailed)
	}
	for ctx.Err() == nil {
		rate := watchRate(ctx, app, time.Second, status)
		if cur.Status.Phase == chaosv1.FaultRunning && r.injectedAfter > 0 && rate < r.worst {
			r.worst = rate
		}
		if cur.Status.Phase.Finished() {
			break
		}
		if time.Since(start) > d+2*time.Minute {
			return r, fmt.Errorf("fault %s did not end within %s", f.Name, d+2*time.Minute)
		}
	}
	r.phase = cur.Status.Phase
	r.counters = cur.Status.Counters
	if cur.Status.ExpiryTime != nil {
		r.teardownAfter = time.Since(cur.Status.ExpiryTime.Time)
	}
	fmt.Printf("fault %s ended %s; recovery:\n", f.Name, r.phase)
	r.recovered = watchRate(ctx, app, 6*time.Second, nil)
	printReport(ctx, f.Name)
	if r.phase != chaosv1.FaultSucceeded {
		return r, fmt.Errorf("fault %s ended %s: %v", f.Name, r.phase, cur.Status.Conditions)
	}
	return r, nil
}

// printReport prints what happened in the Fault name, as `temblorctl
// report` does (the same code, run in this process).
func printReport(ctx context.Context, name string) {
	fmt.Printf("\n$ temblorctl report -n %s %s\n", demoNS, name)
	if code := temblorctl.Main(ctx, "temblorctl", []string{"--kubeconfig", kubeconfigPath(), "report", "-n", demoNS, name},
		temblorctl.IO{Stdin: strings.NewReader(""), Stdout: os.Stdout, Stderr: os.Stderr}); code != 0 {
		fmt.Printf("(temblorctl report exited %d)\n", code)
	}
}

func meta(f *chaosv1.Fault, condType string) bool {
	for _, c := range f.Status.Conditions {
		if c.Type == condType {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

func waitGone(ctx context.Context, c client.Client, f *chaosv1.Fault) error {
	for i := 0; i < 120; i++ {
		err := c.Get(ctx, client.ObjectKeyFromObject(f), &chaosv1.Fault{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("old fault %s still present after 60s", f.Name)
}

func printSummary(results []result) {
	step("Summary")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "EXPERIMENT\tSTEADY\tDURING (worst)\tAFTER\tINJECTED IN\tPACKETS DROPPED\tSYSCALLS FAILED\tEND\tSEEN AFTER EXPIRY")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%.0f%%\t%.0f%%\t%.0f%%\t%s\t%d\t%d\t%s\t%s\n", r.name, 100*r.baseline, 100*r.worst, 100*r.recovered,
			r.injectedAfter.Round(100*time.Millisecond), r.counters.PacketsDropped, r.counters.SyscallsFailed, r.phase, r.teardownAfter.Round(100*time.Millisecond))
	}
	w.Flush()
}
