package agent_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/agent"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("A failed teardown", Label("syscall", "lifetime"), func() {
	It("keeps the finalizer and says TeardownFailed until a retry closes everything", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		DeferCleanup(func() { attachLog.closeAll(pod.Dir) })
		fi := newInjection(uniqueName("teardown"), nodeA, time.Now().Add(5*time.Minute), connectRefused, target(pod, "web-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		expectInjected(fi, 10*time.Second)
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"))

		By("deleting while Close fails: the finalizer stays and status says why")
		attachLog.setFailClose(pod.Dir, true)
		Expect(k8sClient.Delete(ctx, fi)).To(Succeed())
		Eventually(func(g Gomega) {
			c := findCondition(get(fi).Status.Conditions, agent.ConditionTornDown)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(agent.ReasonTeardownFailed))
			g.Expect(c.Message).To(ContainSubstring("injected close failure"))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(controllerutil.ContainsFinalizer(get(fi), chaosv1.Finalizer)).To(BeTrue())
		}).WithTimeout(2 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
		Expect(agentA.HeldTargets()).To(Equal(1), "the attachment whose Close failed is still held")
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"), "nothing pretends the fault is gone")

		By("letting Close succeed: the retry tears down and releases the finalizer")
		attachLog.setFailClose(pod.Dir, false)
		deleteAndExpectGone(fi, 20*time.Second)
		Expect(agentA.HeldTargets()).To(BeZero())
		Expect(connectResult(pod, addr)).To(Equal("ok"))
		expectNoTemblorBPF()
	})
})
