package agent

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// ManagerOptions configure NewManager.
type ManagerOptions struct {
	// MetricsBindAddress serves Prometheus metrics; "0" disables them.
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz; "" disables them.
	HealthProbeBindAddress string
}

// NewManager builds a controller-runtime manager whose cache holds only the
// FaultInjections of a.NodeName, and sets a up in it. a's Client is set to
// the manager's client when nil.
func NewManager(cfg *rest.Config, a *Agent, opts ManagerOptions) (manager.Manager, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chaosv1.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  CacheOptions(a.NodeName),
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress: opts.HealthProbeBindAddress,
	})
	if err != nil {
		return nil, fmt.Errorf("create agent manager: %w", err)
	}
	if a.Client == nil {
		a.Client = mgr.GetClient()
	}
	if err := a.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	if opts.HealthProbeBindAddress != "" {
		if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
			return nil, fmt.Errorf("add health check: %w", err)
		}
		if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
			return nil, fmt.Errorf("add ready check: %w", err)
		}
	}
	return mgr, nil
}
