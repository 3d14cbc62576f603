package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

var _ = Describe("A Fault whose window closed before any injection", func() {
	It("does not end Succeeded: it says it never injected", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		ensureNode(ctx, "node-a")
		runningPod(ctx, ns, "late-0", "node-a", map[string]string{"app": "late"})
		f := networkFault(ns, "too-short", "late")
		f.Spec.Duration = metav1.Duration{Duration: time.Second}
		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		waitPhase(ctx, f, chaosv1.FaultRunning)
		Eventually(func(g Gomega) { g.Expect(injectionsOf(ctx, g, f)).To(HaveLen(1)) }).Should(Succeed())

		fakeClock.Step(2 * time.Second) // no agent ever reported the target Injected
		confirmTeardown(ctx, f)
		got := waitPhase(ctx, f, chaosv1.FaultFailed)
		cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionCompleted)
		Expect(cond).NotTo(BeNil())
		Expect(cond.Reason).To(Equal(chaosv1.ReasonNeverInjected))
		Expect(cond.Message).To(ContainSubstring("no target was injected before the fault expired"))
		Expect(got.Status.FirstInjectedTime).To(BeNil())
		Eventually(func(g Gomega) {
			evs := eventsOf(ctx, g, f, chaosv1.ReasonNeverInjected)
			g.Expect(evs).To(HaveLen(1))
			g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
		}).Should(Succeed())
	})
})
