package controllers_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// reconcileErrors reads the fault controller's error counters from the
// manager's metrics: all errors, and the terminal ones (never retried).
func reconcileErrors() (all, terminal float64) {
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	value := func(m *dto.Metric) float64 {
		for _, l := range m.GetLabel() {
			if l.GetName() == "controller" && l.GetValue() == "fault" {
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "controller_runtime_reconcile_errors_total":
				all += value(m)
			case "controller_runtime_terminal_reconcile_errors_total":
				terminal += value(m)
			}
		}
	}
	return all, terminal
}

var _ = Describe("A selection over the target limit", func() {
	It("ends the Fault Failed with a condition and an Event, and is not retried", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		ensureNode(ctx, "node-a")
		for i := range suiteMaxTargets + 1 {
			runningPod(ctx, ns, fmt.Sprintf("big-%d", i), "node-a", map[string]string{"app": "big"})
		}
		errsBefore, terminalBefore := reconcileErrors()

		f := networkFault(ns, "too-many", "big")
		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		got := waitPhase(ctx, f, chaosv1.FaultFailed)
		cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionTargetsSelected)
		Expect(cond).NotTo(BeNil())
		Expect(cond.Reason).To(Equal(chaosv1.ReasonTooManyTargets))
		Expect(cond.Message).To(ContainSubstring("the selection hits %d pods but a Fault may hit at most %d", suiteMaxTargets+1, suiteMaxTargets))
		Expect(got.Status.Targets).To(BeEmpty())
		Eventually(func(g Gomega) {
			evs := eventsOf(ctx, g, f, chaosv1.ReasonTooManyTargets)
			g.Expect(evs).To(HaveLen(1))
			g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
		}).Should(Succeed())

		rv := got.ResourceVersion
		Consistently(func(g Gomega) {
			g.Expect(getFault(ctx, f)(g).ResourceVersion).To(Equal(rv), "the Fault keeps being rewritten")
			g.Expect(injectionsOf(ctx, g, f)).To(BeEmpty())
		}, "1s").Should(Succeed())
		errsAfter, terminalAfter := reconcileErrors()
		Expect(terminalAfter-terminalBefore).To(BeEquivalentTo(1), "one terminal error")
		Expect(errsAfter-errsBefore).To(BeEquivalentTo(1), "no retry after the terminal error")

		fixed := networkFault(ns, "fixed-at-limit", "big")
		fixed.Spec.Mode, fixed.Spec.Count = chaosv1.ModeFixed, ptr.To[int32](suiteMaxTargets)
		Expect(k8sClient.Create(ctx, fixed)).To(Succeed())
		Expect(waitPhase(ctx, fixed, chaosv1.FaultRunning).Status.Targets).To(HaveLen(suiteMaxTargets))
		Expect(k8sClient.Delete(ctx, fixed)).To(Succeed())
		confirmTeardown(ctx, fixed)
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, f))).To(Succeed())
	})
})
