package agent_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("A syscall fault", Ordered, Label("syscall"), func() {
	It("is injected into a fake pod, counted, and removed on deletion before the finalizer goes", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		bystander := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		Expect(connectResult(pod, addr)).To(Equal("ok"))

		failedBefore := metricValue("temblor_syscalls_failed_total")
		fi := newInjection(uniqueName("connect"), nodeA, time.Now().Add(5*time.Minute), connectRefused, target(pod, "web-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		expectInjected(fi, 10*time.Second)
		// The same text as `temblorctl exec` prints (TestExecSyscallRefused).
		Expect(get(fi).Status.Targets[0].Methods).To(Equal([]string{"connect cgroup connect4,connect6 (only AF_INET and AF_INET6 sockets)"}))

		By("failing connect in the pod and only there")
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"))
		Expect(connectResult(bystander, addr)).To(Equal("ok"))
		Expect(connectResult(nil, addr)).To(Equal("ok"))

		By("reporting counters in status and metrics")
		Eventually(func(g Gomega) {
			st := get(fi).Status
			g.Expect(st.Counters.SyscallsFailed).To(BeNumerically(">=", 1))
			g.Expect(st.Targets[0].Counters.SyscallsFailed).To(BeNumerically(">=", 1))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		Expect(metricValue("temblor_syscalls_failed_total")).To(BeNumerically(">", failedBefore))
		Expect(metricValue("temblor_faults_active")).To(BeNumerically(">=", 1))
		Expect(metricValue("temblor_attach_duration_seconds")).To(BeNumerically(">=", 1))
		Expect(temblorBPF()).NotTo(BeEmpty())

		By("deleting: the finalizer goes only after teardown")
		took := deleteAndExpectGone(fi, 10*time.Second)
		Expect(agentA.HeldTargets()).To(BeZero())
		GinkgoWriter.Printf("deletion to finalizer released: %s\n", took)
		Expect(connectResult(pod, addr)).To(Equal("ok"))
		expectNoTemblorBPF()
	})

	It("reports a target pod that leaves the node as Gone and releases it", func(ctx SpecContext) {
		a := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		b := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		fi := newInjection(uniqueName("gone"), nodeA, time.Now().Add(5*time.Minute), connectRefused, target(a, "a"), target(b, "b"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		expectInjected(fi, 10*time.Second)

		b.Stop(GinkgoT())
		Eventually(func(g Gomega) {
			st := get(fi).Status
			g.Expect(st.Phase).To(Equal(chaosv1.InjectionPartiallyInjected))
			states := map[string]chaosv1.TargetState{}
			for _, t := range st.Targets {
				states[t.Name] = t.State
			}
			g.Expect(states).To(Equal(map[string]chaosv1.TargetState{"a": chaosv1.TargetInjected, "b": chaosv1.TargetGone}))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		Expect(agentA.HeldTargets()).To(Equal(1))
		deleteAndExpectGone(fi, 10*time.Second)
		expectNoTemblorBPF()
	})

	It("fails a target that is not on the node and injects the others", func(ctx SpecContext) {
		a := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		missing := chaosv1.InjectionTarget{PodUID: "00000000-0000-0000-0000-000000000001", Namespace: "default", Name: "ghost"}
		fi := newInjection(uniqueName("partial"), nodeA, time.Now().Add(5*time.Minute), connectRefused, target(a, "a"), missing)
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		Eventually(func(g Gomega) {
			st := get(fi).Status
			g.Expect(st.Phase).To(Equal(chaosv1.InjectionPartiallyInjected))
			g.Expect(st.Targets[1].State).To(Equal(chaosv1.TargetGone))
			g.Expect(st.Targets[1].Message).NotTo(BeEmpty())
		}).WithTimeout(10 * time.Second).Should(Succeed())
		deleteAndExpectGone(fi, 10*time.Second)
		expectNoTemblorBPF()
	})

	It("targets only the listed containers of a pod", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		t := target(pod, "web-0")
		t.ContainerIDs = []string{"containerd://" + pod.AppID}
		fi := newInjection(uniqueName("container"), nodeA, time.Now().Add(5*time.Minute), connectRefused, t)
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		expectInjected(fi, 10*time.Second)
		Expect(connectIn(pod, pod.AppID, addr)).To(Equal("ECONNREFUSED"))
		Expect(connectIn(pod, pod.PauseID, addr)).To(Equal("ok"))
		deleteAndExpectGone(fi, 10*time.Second)
		expectNoTemblorBPF()
	})

	It("ignores FaultInjections of other nodes", func(ctx SpecContext) {
		a := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		fi := newInjection(uniqueName("other"), "node-z", time.Now().Add(5*time.Minute), connectRefused, target(a, "a"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		Consistently(func() chaosv1.InjectionPhase { return get(fi).Status.Phase }).WithTimeout(2 * time.Second).Should(BeEmpty())
		Expect(temblorBPF()).To(BeEmpty())
		// Nobody will release the finalizer: drop it ourselves.
		cur := get(fi)
		cur.Finalizers = nil
		Expect(k8sClient.Update(ctx, cur)).To(Succeed())
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, cur))).To(Succeed())
	})
})
