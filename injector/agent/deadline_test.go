package agent_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("Deadlines and the dead-man switch", Ordered, Label("syscall", "lifetime"), func() {
	AfterEach(func() {
		Expect(proxy.restore()).To(Or(Succeed(), MatchError(ContainSubstring("address already in use"))))
	})

	It("removes a fault at its deadline while the API server is unreachable", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		// The deadline comes before the grace runs out, so the timer, not
		// the dead-man switch, must remove the fault.
		// The API keeps whole seconds: the deadline is 3-4s away.
		deadline := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
		fi := newInjection(uniqueName("deadline"), nodeA, deadline, connectRefused, target(pod, "web-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		expectInjected(fi, 5*time.Second)
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"))

		proxy.cut()
		cutAt := time.Now()
		// The last good probe may be one probe interval (grace/6) before the cut.
		Expect(deadline.Sub(cutAt)).To(BeNumerically("<", testGrace-testGrace/6-50*time.Millisecond), "the deadline must come before the grace ends")
		Eventually(agentA.HeldTargets).WithTimeout(time.Until(deadline) + 2*time.Second).WithPolling(time.Millisecond).Should(BeZero())
		lateness := time.Since(deadline)
		GinkgoWriter.Printf("MEASURE deadline teardown lateness with the API server cut: %s\n", lateness)
		Expect(lateness).To(BeNumerically("<", 500*time.Millisecond))
		Expect(connectResult(pod, addr)).To(Equal("ok"))
		expectNoTemblorBPF()

		By("reporting Removed and releasing the finalizer once the API server is back")
		Expect(proxy.restore()).To(Succeed())
		Eventually(func(g Gomega) {
			cur := get(fi)
			g.Expect(cur.Status.Phase).To(Equal(chaosv1.InjectionRemoved))
			g.Expect(cur.Status.Targets[0].State).To(Equal(chaosv1.TargetRemoved))
			g.Expect(controllerutil.ContainsFinalizer(cur, chaosv1.Finalizer)).To(BeFalse())
		}).WithTimeout(15 * time.Second).Should(Succeed())
		deleteAndExpectGone(fi, 30*time.Second)
	})

	It("withdraws every fault after the grace without the API server, and reports it on reconnection", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		fi := newInjection(uniqueName("deadman"), nodeA, time.Now().Add(5*time.Minute), connectRefused, target(pod, "web-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		expectInjected(fi, 5*time.Second)
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"))

		proxy.cut()
		cutAt := time.Now()
		Consistently(agentA.HeldTargets).WithTimeout(testGrace - testGrace/6 - 300*time.Millisecond).Should(Equal(1))
		Eventually(agentA.HeldTargets).WithTimeout(3 * time.Second).WithPolling(time.Millisecond).Should(BeZero())
		GinkgoWriter.Printf("MEASURE dead-man switch: withdrawn %s after the cut (grace %s)\n", time.Since(cutAt), testGrace)
		Expect(connectResult(pod, addr)).To(Equal("ok"))
		expectNoTemblorBPF()

		By("writing Withdrawn and AgentConnected once reconnected, without re-injecting")
		Expect(proxy.restore()).To(Succeed())
		Eventually(func(g Gomega) {
			cur := get(fi)
			g.Expect(cur.Status.Phase).To(Equal(chaosv1.InjectionWithdrawn))
			c := findCondition(cur.Status.Conditions, chaosv1.ConditionAgentConnected)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(chaosv1.ReasonReconnected))
		}).WithTimeout(20 * time.Second).Should(Succeed())
		Expect(agentA.HeldTargets()).To(BeZero())
		Expect(connectResult(pod, addr)).To(Equal("ok"))
		// The informer's watch comes back with the reflector's backoff,
		// which grew during the cut: the deletion may take seconds to arrive.
		took := deleteAndExpectGone(fi, 30*time.Second)
		GinkgoWriter.Printf("MEASURE after reconnection: deletion to finalizer released %s\n", took)
		expectNoTemblorBPF()
	})
})
