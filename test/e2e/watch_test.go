//go:build e2e

package e2e

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// faultWatch watches the Faults of a namespace and records, for each, when
// the API server first told of it and when it was first seen Running with
// every target injected: watch events arrive within a millisecond or so,
// where polling with kubectl costs a process start per poll.
type faultWatch struct {
	stop    context.CancelFunc
	mu      sync.Mutex
	created map[string]time.Time
	running map[string]time.Time
}

// watchFaults starts watching the Faults of ns; stop it with Stop.
func watchFaults(ns string) *faultWatch {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(chaosv1.AddToScheme(scheme)).To(Succeed())
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Watch(ctx, &chaosv1.FaultList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	fw := &faultWatch{stop: cancel, created: map[string]time.Time{}, running: map[string]time.Time{}}
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
				fw.record(ev, time.Now())
			}
		}
	}()
	return fw
}

func (fw *faultWatch) record(ev watch.Event, at time.Time) {
	f, ok := ev.Object.(*chaosv1.Fault)
	if !ok {
		return
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, seen := fw.created[f.Name]; !seen && (ev.Type == watch.Added || ev.Type == watch.Modified) {
		fw.created[f.Name] = at
	}
	if _, seen := fw.running[f.Name]; !seen && f.Status.Phase == chaosv1.FaultRunning &&
		meta.IsStatusConditionTrue(f.Status.Conditions, chaosv1.ConditionInjected) {
		fw.running[f.Name] = at
	}
}

// times returns when the Fault name was first seen created and Running;
// zero times for what has not been seen.
func (fw *faultWatch) times(name string) (created, running time.Time) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.created[name], fw.running[name]
}

// Stop ends the watch.
func (fw *faultWatch) Stop() { fw.stop() }
