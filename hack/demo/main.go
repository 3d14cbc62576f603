// Command demo is Temblor's local demo (`make demo`): it brings up the
// single-node cluster of hack/cluster, deploys Temblor and a small app (a
// client calling a server), shows the client's live success rate, runs two
// experiments from experiments/ — a flaky dependency (packets dropped by tc
// BPF in the client's network namespace) and connection refused (connect()
// failing through a cgroup BPF hook) — shows the rate fall while the Faults'
// counters climb and recover at expiry, and prints a summary.
//
//	go run ./hack/demo [--down] [--duration 30s]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	down := flag.Bool("down", false, "tear the cluster down at the end (default: leave it running)")
	duration := flag.Duration("duration", 30*time.Second, "how long each experiment runs")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *duration)
	if *down {
		step("Tearing the cluster down")
		if derr := cluster(context.Background(), "down"); derr != nil && err == nil {
			err = derr
		}
	} else {
		fmt.Println("\nThe cluster is still running. Look around with:")
		fmt.Println("  export KUBECONFIG=" + kubeconfigPath())
		fmt.Println("  kubectl get faults,faultinjections -A")
		fmt.Println("Tear it down (and see the machine restored) with: make cluster-down")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, duration time.Duration) error {
	step("1/5 Local single-node Kubernetes cluster (first run builds Kubernetes from source: minutes)")
	for _, verb := range []string{"up", "load-images", "deploy"} {
		if err := cluster(ctx, verb); err != nil {
			return err
		}
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	step("2/5 Waiting for Temblor's manager and node agent")
	if err := waitTemblor(ctx, c); err != nil {
		return err
	}
	step("3/5 Deploying the demo app: a client calling a server 20 times a second")
	app, err := deployApp(ctx, c)
	if err != nil {
		return err
	}
	fmt.Printf("server %s  client %s (stats at http://%s:8081/stats)\n", app.serverIP, app.clientIP, app.clientIP)
	baseline := watchRate(ctx, app, 6*time.Second, nil)
	fmt.Printf("steady state: %.1f%% success\n", 100*baseline)

	var results []result
	for i, exp := range demoExperiments {
		step(fmt.Sprintf("%d/5 Experiment %s: %s", 4+i, exp.dir, exp.what))
		r, err := runExperiment(ctx, c, app, exp, duration)
		if err != nil {
			return err
		}
		r.baseline = baseline
		results = append(results, r)
	}
	printSummary(results)
	return nil
}

func step(s string) { fmt.Printf("\n\033[1m==> %s\033[0m\n", s) }
