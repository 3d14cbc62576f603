// Command agent runs Temblor's node agent: one per node (a DaemonSet), it
// carries out the FaultInjections labelled for its node.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/temblor-dev/temblor/injector/agent"
	"github.com/temblor-dev/temblor/injector/convert"
	"github.com/temblor-dev/temblor/injector/podresolve"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		nodeName, metricsAddr, probeAddr string
		procRoot, cgroupRoot, backend    string
		hostNetNS, criEndpoint           string
		netMethod, protected             string
		grace, statusInterval            time.Duration
		qps, statusWrites                float64
		burst                            int
	)
	flag.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "the node this agent runs on (default $NODE_NAME)")
	flag.DurationVar(&grace, "apiserver-grace", agent.DefaultAPIServerGrace,
		"how long the agent keeps its faults without reaching the API server before withdrawing them")
	flag.DurationVar(&statusInterval, "status-interval", agent.DefaultStatusInterval, "how often counters are read into status")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.StringVar(&procRoot, "proc-root", podresolve.DefaultProcRoot, "where the node's procfs is mounted (the agent runs with hostPID)")
	flag.StringVar(&cgroupRoot, "cgroup-root", podresolve.DefaultCgroupRoot, "where the node's cgroup filesystems are mounted")
	flag.StringVar(&hostNetNS, "host-netns-path", "",
		"link to the node's network namespace, to tell hostNetwork pods (default <proc-root>/1/ns/net); if unreadable, network faults are refused")
	flag.StringVar(&backend, "syscall-backend", "auto", "force a syscall backend: auto, kprobe-override, fmod_ret, lsm or cgroup")
	flag.StringVar(&netMethod, "network-method", "auto", "force how network programs attach: auto, tcx or netlink-tc")
	flag.StringVar(&protected, "protected-namespaces", strings.Join(agent.DefaultProtectedNamespaces, ","),
		"comma-separated namespaces the agent never injects into, whatever a FaultInjection says")
	flag.StringVar(&criEndpoint, "cri-endpoint", "",
		"container runtime socket (unix:///path), to follow restarts of the containers a fault names; default: the first of "+strings.Join(podresolve.DefaultCRIEndpoints, ", ")+" that exists")
	flag.Float64Var(&qps, "kube-api-qps", 50, "queries per second to the API server")
	flag.IntVar(&burst, "kube-api-burst", 100, "burst of queries to the API server")
	flag.Float64Var(&statusWrites, "status-writes-per-second", agent.DefaultStatusWritesPerSecond,
		"budget of routine counter refreshes: with many faults the status interval stretches to stay within it")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	if nodeName == "" {
		return errors.New("no node name: set --node-name or NODE_NAME")
	}
	b, err := convert.ParseBackend(backend)
	if err != nil {
		return err
	}
	method, err := convert.ParseNetworkMethod(netMethod)
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(qps), burst

	a := &agent.Agent{
		NodeName:              nodeName,
		Resolver:              &podresolve.Resolver{ProcRoot: procRoot, CgroupRoot: cgroupRoot, HostNetNSPath: hostNetNS},
		SyscallBackend:        b,
		NetworkMethod:         method,
		StatusInterval:        statusInterval,
		StatusWritesPerSecond: statusWrites,
		APIServerGrace:        grace,
		// Never nil: an empty flag protects no namespace.
		ProtectedNamespaces: splitList(protected),
	}
	// The runtime names a restarted container, so that a container-scoped
	// fault follows it; without it such restarts are reported, not followed.
	if cri, err := podresolve.DialCRI(context.Background(), criEndpoint); err != nil {
		ctrl.Log.Info("No container runtime: restarts of containers named by a fault will be reported, not followed", "error", err.Error())
	} else {
		defer cri.Close()
		a.ContainerNamer = cri
		ctrl.Log.Info("Container runtime found", "endpoint", cri.Endpoint())
	}
	mgr, err := agent.NewManager(cfg, a, agent.ManagerOptions{MetricsBindAddress: metricsAddr, HealthProbeBindAddress: probeAddr})
	if err != nil {
		return err
	}
	ctrl.Log.Info("Starting node agent", "node", nodeName, "apiserverGrace", grace.String(), "syscallBackend", b.String())
	return mgr.Start(ctrl.SetupSignalHandler())
}

// splitList splits a comma-separated flag, dropping empty items; it never
// returns nil.
func splitList(s string) []string {
	out := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
