package controllers_test

import (
	"context"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// eventsOf lists the Events the manager recorded about f, optionally only
// those with the given reason.
func eventsOf(ctx context.Context, g Gomega, f *chaosv1.Fault, reason string) []eventsv1.Event {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(f.Namespace))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "Fault" && e.Regarding.Name == f.Name && (reason == "" || e.Reason == reason) {
			out = append(out, e)
		}
	}
	return out
}
