//go:build e2e

package e2e

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// injectionWatch watches the FaultInjections and Faults of a namespace and
// records, per Fault: when its first target was injected (the agent's
// injectedTime), the Fault's last seen state, and when the API server told
// of the deletion of its last FaultInjection (the agent removes the
// finalizer only once it detached everything).
type injectionWatch struct {
	stop     context.CancelFunc
	mu       sync.Mutex
	injected map[string]time.Time
	faults   map[string]*chaosv1.Fault
	live     map[string]map[string]bool // fault -> FaultInjection names
	gone     map[string]time.Time
}

// watchInjections starts watching ns; stop it with Stop.
func watchInjections(ns string) *injectionWatch {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(chaosv1.AddToScheme(scheme)).To(Succeed())
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	iw := &injectionWatch{
		stop: cancel, injected: map[string]time.Time{}, faults: map[string]*chaosv1.Fault{},
		live: map[string]map[string]bool{}, gone: map[string]time.Time{},
	}
	for _, list := range []client.ObjectList{&chaosv1.FaultInjectionList{}, &chaosv1.FaultList{}} {
		w, err := c.Watch(ctx, list, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		go func() {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					iw.record(ev, time.Now())
				}
			}
		}()
	}
	return iw
}

func (iw *injectionWatch) record(ev watch.Event, at time.Time) {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	switch o := ev.Object.(type) {
	case *chaosv1.Fault:
		iw.faults[o.Name] = o.DeepCopy()
	case *chaosv1.FaultInjection:
		fault := o.Labels[chaosv1.LabelFault]
		if iw.live[fault] == nil {
			iw.live[fault] = map[string]bool{}
		}
		for _, t := range o.Status.Targets {
			if t.InjectedTime != nil && (iw.injected[fault].IsZero() || t.InjectedTime.Time.Before(iw.injected[fault])) {
				iw.injected[fault] = t.InjectedTime.Time
			}
		}
		if ev.Type == watch.Deleted {
			delete(iw.live[fault], o.Name)
			if len(iw.live[fault]) == 0 {
				iw.gone[fault] = at
			}
		} else {
			iw.live[fault][o.Name] = true
		}
	}
}

// state returns what was seen of the Fault name: its first injection, its
// last state (nil if none) and when its FaultInjections were all gone.
func (iw *injectionWatch) state(name string) (injected time.Time, f *chaosv1.Fault, gone time.Time) {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	return iw.injected[name], iw.faults[name], iw.gone[name]
}

// Stop ends the watches.
func (iw *injectionWatch) Stop() { iw.stop() }
