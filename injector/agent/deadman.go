package agent

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ReadyzProbe returns a probe that GETs the API server's /readyz (readable
// by anyone through the system:public-info-viewer role).
func ReadyzProbe(cfg *rest.Config) (func(ctx context.Context) error, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &schema.GroupVersion{}
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	rc, err := rest.UnversionedRESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("create API server probe: %w", err)
	}
	return func(ctx context.Context) error {
		return rc.Get().AbsPath("/readyz").Do(ctx).Error()
	}, nil
}

// runDeadman probes the API server until ctx ends. When no probe has
// succeeded for longer than APIServerGrace it withdraws every fault; when the
// API server answers again it asks for reconciles so that the withdrawal is
// reported. When ctx ends it tears everything down.
func (a *Agent) runDeadman(ctx context.Context) error {
	a.setBaseContext(ctx)
	l := log.FromContext(ctx).WithName("dead-man-switch")
	interval := probeInterval(a.APIServerGrace)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			a.shutdown(context.WithoutCancel(ctx))
			l.Info("Tore down every fault on shutdown")
			return nil
		case <-ticker.C:
		}
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := a.Probe(pctx)
		cancel()
		if err == nil {
			lastOK = time.Now()
			if a.disconnected.Swap(false) {
				l.Info("Reached the API server again; reporting withdrawn faults")
				for _, f := range a.snapshotFaults() {
					a.enqueue(f.key)
				}
			}
			continue
		}
		if lost := time.Since(lastOK); lost > a.APIServerGrace && !a.disconnected.Load() {
			a.disconnected.Store(true)
			n := a.withdrawAll(context.WithoutCancel(ctx))
			l.Error(err, "Lost the API server for longer than the grace; withdrew every fault",
				"grace", a.APIServerGrace.String(), "lost", lost.String(), "withdrawn", n)
		}
	}
}
