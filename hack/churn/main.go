// Command churn measures issue 11's R5 promise on a real node: many Fault
// create/delete cycles, network and syscall mixed, deletes landing
// mid-attach, the node agent SIGKILLed several times, and afterwards nothing
// left behind: no Temblor BPF program, link or map, no tc filter or qdisc
// in a victim's network namespace, no cgroup directory or network namespace
// of a deleted victim, and the agent's descriptors and memory back to a
// baseline.
//
//	KUBECONFIG=... go run ./hack/churn -cycles 1000 -concurrent 100 -pods 20 -agent-kills 10
//
// It must run as root on the cluster's single node (it reads /proc, the
// kernel's BPF objects and the pods' network namespaces, and SIGKILLs the
// agent), with Temblor deployed. It prints a table and exits 1 on any leak,
// on any Fault that did not end (Succeeded, or gone after its delete), and
// when fewer cycles or kills ran than asked. `make churn` brings the local
// cluster up, runs the full version and tears the cluster down.
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

// config is the command line.
type config struct {
	cycles, concurrent, pods, kills, warmup int
	image, pullPolicy                       string
	endTimeout, restartWait                 time.Duration
	fdSlack                                 int
	rssSlackPct                             float64
	seed                                    int64
	keepNamespace                           bool
}

func parseFlags() config {
	var c config
	flag.IntVar(&c.cycles, "cycles", 1000, "Fault create/end cycles to run")
	flag.IntVar(&c.concurrent, "concurrent", 100, "Faults alive at once")
	flag.IntVar(&c.pods, "pods", 20, "victim pods")
	flag.IntVar(&c.kills, "agent-kills", 10, "SIGKILLs of the node agent, spread over the run")
	flag.IntVar(&c.warmup, "warmup", 0, "cycles before a baseline of the agent's fds and RSS (default cycles/20, at least 10)")
	flag.StringVar(&c.image, "image", "docker.io/temblor/e2e-app:dev", "victim image (test/e2e/images/app)")
	flag.StringVar(&c.pullPolicy, "pull-policy", "Never", "victim image pull policy")
	flag.DurationVar(&c.endTimeout, "end-timeout", 3*time.Minute, "how long one Fault may take to end (Succeeded, or gone after delete)")
	flag.DurationVar(&c.restartWait, "restart-wait", 20*time.Second, "after a SIGKILL, how long to wait for the kubelet to restart the agent's container before deleting its pod (CrashLoopBackOff)")
	flag.IntVar(&c.fdSlack, "fd-slack", 2, "descriptors the final agent may hold above its baseline")
	flag.Float64Var(&c.rssSlackPct, "rss-slack", 25, "percent of RSS the final agent may hold above its baseline")
	flag.Int64Var(&c.seed, "seed", 0, "random seed (default: the time)")
	flag.BoolVar(&c.keepNamespace, "keep-namespace", false, "keep the churn namespace (for debugging)")
	flag.Parse()
	if c.warmup <= 0 {
		c.warmup = max(c.cycles/20, 10)
	}
	if c.seed == 0 {
		c.seed = time.Now().UnixNano()
	}
	return c
}

func main() {
	cfg := parseFlags()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "churn: must run as root on the cluster's node")
		os.Exit(2)
	}
	if 3*cfg.warmup >= cfg.cycles {
		fmt.Fprintf(os.Stderr, "churn: -cycles %d too small for -warmup %d (needs more than 3 warm-ups)\n", cfg.cycles, cfg.warmup)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	r, err := newRunner(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "churn: %v\n", err)
		os.Exit(1)
	}
	rep, err := r.run(ctx)
	if rep != nil {
		rep.print(os.Stdout, cfg, time.Since(start))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "churn: %v\n", err)
		os.Exit(1)
	}
	if !rep.ok() {
		fmt.Fprintln(os.Stderr, "churn: FAILED (see the table)")
		os.Exit(1)
	}
	fmt.Println("churn: PASS")
}
