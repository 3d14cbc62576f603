package agent_test

import (
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("Legacy netlink tc filters", Ordered, Label("network", "restart"), func() {
	It("survive a SIGKILLed agent and are removed by the next one at start-up", func(ctx SpecContext) {
		Expect(temblorBPF()).To(BeEmpty())
		a, b := vethPair()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{NetNS: a})
		tx, rx := udpPairPort(a, b, 9998)

		act := dropEgressUDP()
		fi := newInjection(uniqueName("legacy"), nodeB, time.Now().Add(5*time.Minute), act, target(pod, "udp-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		dir := writeChildConfig("netlink-tc")
		child := startChild(dir)
		DeferCleanup(func() { stopChild(child) })
		expectInjected(fi, 20*time.Second)
		methods := get(fi).Status.Targets[0].Methods
		GinkgoWriter.Printf("methods: %v\n", methods)
		Expect(strings.Join(methods, " ")).NotTo(ContainSubstring("tcx"))
		Expect(received(tx, rx, 5)).To(BeZero())

		By("SIGKILLing the agent: cls_bpf filters have no owner and stay, but the fault ends with the agent")
		Expect(child.Process.Signal(syscall.SIGKILL)).To(Succeed())
		child.Wait()
		time.Sleep(200 * time.Millisecond)
		Expect(temblorBPF()).NotTo(BeEmpty())
		// The filters hold stubs that tail-call the shared programs through a
		// prog array the kernel empties once the agent's descriptors are gone:
		// every packet passes, as with tcx and XDP links.
		Eventually(func() int { return received(tx, rx, 5) }).WithTimeout(5 * time.Second).Should(Equal(5))

		By("deleting the fault while no agent runs, then starting one: it sweeps the leftovers and releases the finalizer")
		Expect(k8sClient.Delete(ctx, fi)).To(Succeed())
		Consistently(func() []string { return get(fi).Finalizers }).WithTimeout(time.Second).Should(ContainElement(chaosv1.Finalizer))
		child = startChild(dir)
		deleteAndExpectGone(fi, 20*time.Second)
		expectNoTemblorBPF()
		Expect(received(tx, rx, 5)).To(Equal(5))
	})
})
