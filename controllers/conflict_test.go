package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

var _ = Describe("A FaultInjection name taken by a foreign object", func() {
	It("is reported loudly and the node is never claimed injected", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		ensureNode(ctx, "node-a")
		ensureNode(ctx, "node-b")
		runningPod(ctx, ns, "shop-0", "node-a", map[string]string{"app": "shop"})
		runningPod(ctx, ns, "shop-1", "node-b", map[string]string{"app": "shop"})
		f := networkFault(ns, "clash", "shop")

		foreign := &chaosv1.FaultInjection{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: chaosv1.FaultInjectionName(f.Name, "node-a"),
				Labels: map[string]string{chaosv1.LabelFault: f.Name, chaosv1.LabelNode: "node-a"}},
			Spec: chaosv1.FaultInjectionSpec{FaultName: "someone-else", NodeName: "node-a",
				Targets:     []chaosv1.InjectionTarget{{PodUID: "11111111-1111-1111-1111-111111111111", Namespace: ns, Name: "other"}},
				Deadline:    metav1.NewMicroTime(time.Now().Add(time.Hour)),
				FaultAction: chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"read"}, Errno: "EIO"}}},
		}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())

		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		waitPhase(ctx, f, chaosv1.FaultRunning)
		var ours *chaosv1.FaultInjection
		Eventually(func(g Gomega) {
			var list chaosv1.FaultInjectionList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(2))
			for i := range list.Items {
				if list.Items[i].Spec.NodeName == "node-b" {
					ours = &list.Items[i]
				}
			}
			g.Expect(ours).NotTo(BeNil())
		}).Should(Succeed())
		actAsAgent(ctx, ours, chaosv1.Counters{PacketsMatched: 1})

		Eventually(func(g Gomega) {
			got := getFault(ctx, f)(g)
			cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionInjected)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(cond.Reason).To(Equal(chaosv1.ReasonInjectionConflict))
			g.Expect(cond.Message).To(ContainSubstring("node node-a"))
			g.Expect(cond.Message).To(ContainSubstring(foreign.Name))
			g.Expect(cond.Message).To(ContainSubstring("1 of 2 targets injected"))
			evs := eventsOf(ctx, g, f, chaosv1.ReasonInjectionConflict)
			g.Expect(evs).NotTo(BeEmpty())
			g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
			g.Expect(evs[0].Note).To(ContainSubstring(foreign.Name))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			cond := meta.FindStatusCondition(getFault(ctx, f)(g).Status.Conditions, chaosv1.ConditionInjected)
			g.Expect(cond.Reason).To(Equal(chaosv1.ReasonInjectionConflict), "never AllInjected while node-a has nothing")
		}, "500ms").Should(Succeed())

		var after chaosv1.FaultInjection
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), &after)).To(Succeed())
		Expect(after.Spec.FaultName).To(Equal("someone-else"), "the foreign object is left alone")
		Expect(after.OwnerReferences).To(BeEmpty())
	})
})
