package agent_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/agent"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

// Forged FaultInjections: anyone allowed to create FaultInjections must not
// get the agent to attach anything that no Fault ordered.
var _ = Describe("A forged FaultInjection", Label("syscall", "security"), func() {
	var (
		addr string
		pod  *podresolvetest.Pod
	)
	BeforeEach(func() {
		expectNoTemblorBPF()
		addr = listener()
		pod = podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
	})

	// expectRefused waits for fi to be refused with reason, checks that
	// nothing was attached, and that deletion still releases the finalizer.
	expectRefused := func(fi *chaosv1.FaultInjection, reason string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			cur := get(fi)
			g.Expect(cur.Status.Phase).To(Equal(chaosv1.InjectionFailed))
			c := findCondition(cur.Status.Conditions, agent.ConditionOrderVerified)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(reason))
			g.Expect(c.Message).NotTo(BeEmpty())
			GinkgoWriter.Printf("refused: %s: %s\n", c.Reason, c.Message)
			for _, t := range cur.Status.Targets {
				g.Expect(t.State).To(Equal(chaosv1.TargetFailed))
			}
		}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
		Eventually(func(g Gomega) {
			cur := get(fi)
			var list eventsv1.EventList
			g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(fi.Namespace))).To(Succeed())
			found := false
			for _, e := range list.Items {
				if e.Regarding.UID == cur.UID && e.Type == corev1.EventTypeWarning && e.Reason == reason {
					found = true
				}
			}
			g.Expect(found).To(BeTrue(), "a Warning Event with reason %s on the FaultInjection", reason)
		}).WithTimeout(10 * time.Second).Should(Succeed())
		Expect(temblorBPF()).To(BeEmpty())
		Expect(agentA.HeldTargets()).To(BeZero())
		Expect(connectResult(pod, addr)).To(Equal("ok"))
		deleteAndExpectGone(fi, 10*time.Second)
	}
	// create creates fi and, whatever the spec's outcome, deletes it when the
	// spec ends so that the next spec starts with nothing attached.
	create := func(ctx context.Context, fi *chaosv1.FaultInjection) {
		GinkgoHelper()
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		DeferCleanup(func() { deleteAndExpectGone(fi, 10*time.Second) })
	}
	deadline := func() time.Time { return time.Now().Add(5 * time.Minute) }

	It("is refused without an owning Fault", func(ctx SpecContext) {
		fi := newInjection(uniqueName("forged-noowner"), nodeA, deadline(), connectRefused, target(pod, "web-0"))
		fi.OwnerReferences = nil
		create(ctx, fi)
		expectRefused(fi, agent.ReasonNoOwningFault)
	})

	It("is refused when its owner is an earlier Fault of the same name", func(ctx SpecContext) {
		name := uniqueName("forged-recreated")
		t := target(pod, "web-0")
		d := deadline()
		old := createFault("default", name, nodeA, d, connectRefused, t)
		fi := injectionFor(old, nodeA, d, t)
		Expect(k8sClient.Delete(ctx, old)).To(Succeed())
		createFault("default", name, nodeA, d, connectRefused, t)
		create(ctx, fi)
		expectRefused(fi, agent.ReasonOwnerMismatch)
	})

	It("is refused when its Fault does not list the target", func(ctx SpecContext) {
		other := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		name := uniqueName("forged-unlisted")
		d := deadline()
		fault := createFault("default", name, nodeA, d, connectRefused, target(other, "other-0"))
		fi := injectionFor(fault, nodeA, d, target(pod, "web-0"))
		create(ctx, fi)
		expectRefused(fi, agent.ReasonTargetNotOrdered)
	})

	It("is refused when its Fault lists the target on another node", func(ctx SpecContext) {
		t := target(pod, "web-0")
		d := deadline()
		fault := createFault("default", uniqueName("forged-node"), nodeB, d, connectRefused, t)
		fi := injectionFor(fault, nodeA, d, t)
		create(ctx, fi)
		expectRefused(fi, agent.ReasonTargetNotOrdered)
	})

	It("is refused when a target is in another namespace", func(ctx SpecContext) {
		t := target(pod, "coredns-0")
		t.Namespace = "kube-system"
		fi := newInjection(uniqueName("forged-otherns"), nodeA, deadline(), connectRefused, t)
		create(ctx, fi)
		expectRefused(fi, agent.ReasonTargetOutsideNamespace)
	})

	It("is refused in a protected namespace, even with an owning Fault that lists the target", func(ctx SpecContext) {
		t := target(pod, "coredns-0")
		t.Namespace = "kube-system"
		d := deadline()
		fault := createFault("kube-system", uniqueName("forged-protected"), nodeA, d, connectRefused, t)
		fi := injectionFor(fault, nodeA, d, t)
		create(ctx, fi)
		expectRefused(fi, agent.ReasonProtectedNamespace)
	})

	It("is refused when its deadline is past its Fault's expiry", func(ctx SpecContext) {
		t := target(pod, "web-0")
		expiry := time.Now().Add(time.Minute)
		fault := createFault("default", uniqueName("forged-forever"), nodeA, expiry, connectRefused, t)
		fi := injectionFor(fault, nodeA, expiry.Add(24*time.Hour), t)
		create(ctx, fi)
		expectRefused(fi, agent.ReasonDeadlineBeyondExpiry)
	})

	It("is refused when its action is not its Fault's", func(ctx SpecContext) {
		t := target(pod, "web-0")
		d := deadline()
		fault := createFault("default", uniqueName("forged-action"), nodeA, d, connectRefused, t)
		fi := injectionFor(fault, nodeA, d, t)
		fi.Spec.Syscall.Errno = "EIO"
		create(ctx, fi)
		expectRefused(fi, agent.ReasonActionMismatch)
	})

	It("is carried out when it is the order of its Fault", func(ctx SpecContext) {
		fi := newInjection(uniqueName("genuine"), nodeA, deadline(), connectRefused, target(pod, "web-0"))
		create(ctx, fi)
		expectInjected(fi, 10*time.Second)
		c := findCondition(get(fi).Status.Conditions, agent.ConditionOrderVerified)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionTrue))
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"))
		deleteAndExpectGone(fi, 10*time.Second)
		expectNoTemblorBPF()
	})
})
