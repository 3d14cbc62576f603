// Command manager runs Temblor's operator: the Fault reconciler that selects
// targets, applies the safety guards and hands FaultInjections to the node
// agents, and the FaultSchedule reconciler that creates Faults on a cron
// schedule.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/controllers"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		metricsAddr, probeAddr string
		leaderElect            bool
		protected              string
		abortURLPrefixes       string
		statusRefresh          time.Duration
		teardownTimeout        time.Duration
		qps                    float64
		burst, workers         int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader, so that only one replica reconciles")
	flag.StringVar(&protected, "protected-namespaces", strings.Join(controllers.DefaultProtectedNamespaces, ","),
		"comma-separated namespaces whose Faults and FaultSchedules are refused")
	flag.DurationVar(&statusRefresh, "status-refresh", 5*time.Second, "how often a running Fault's status is refreshed")
	flag.DurationVar(&teardownTimeout, "teardown-timeout", 5*time.Minute,
		"how long to wait for a node agent to confirm teardown before giving up on it")
	flag.Float64Var(&qps, "kube-api-qps", 50, "queries per second to the API server")
	flag.IntVar(&burst, "kube-api-burst", 100, "burst of queries to the API server")
	flag.IntVar(&workers, "max-concurrent-reconciles", 4, "Faults reconciled in parallel")
	flag.StringVar(&abortURLPrefixes, "abort-check-url-prefix", "",
		"comma-separated URL prefixes (scheme://host[:port]/path) that HTTP abort conditions may call besides the services of the Fault's own namespace")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chaosv1.AddToScheme(scheme))

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(qps), burst

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllers.CacheOptions(scheme),
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "manager.chaos.temblor.dev",
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := (&controllers.FaultReconciler{
		Client:                  mgr.GetClient(),
		Recorder:                mgr.GetEventRecorder("temblor-manager"),
		ProtectedNamespaces:     splitList(protected),
		AbortCheckURLPrefixes:   splitList(abortURLPrefixes),
		StatusRefresh:           statusRefresh,
		TeardownTimeout:         teardownTimeout,
		MaxConcurrentReconciles: workers,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up fault controller: %w", err)
	}
	if err := (&controllers.FaultScheduleReconciler{
		Client:              mgr.GetClient(),
		Recorder:            mgr.GetEventRecorder("temblor-manager"),
		ProtectedNamespaces: splitList(protected),
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up fault schedule controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	ctrl.Log.Info("Starting manager")
	return mgr.Start(ctrl.SetupSignalHandler())
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
