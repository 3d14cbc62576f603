package agent_test

import (
	"os/exec"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("An agent process", Ordered, Label("syscall", "restart"), func() {
	It("leaves nothing behind when SIGKILLed, and re-applies still-valid faults when restarted", func(ctx SpecContext) {
		Expect(temblorBPF()).To(BeEmpty(), "the in-process agent must hold nothing during this spec")
		dir := writeChildConfig("auto")
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		fi := newInjection(uniqueName("restart"), nodeB, time.Now().Add(5*time.Minute), connectRefused, target(pod, "db-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())

		child := startChild(dir)
		DeferCleanup(func() { stopChild(child) })
		expectInjected(fi, 20*time.Second)
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"))
		Expect(temblorBPF()).NotTo(BeEmpty())

		By("SIGKILLing the agent: the kernel detaches everything")
		Expect(child.Process.Signal(syscall.SIGKILL)).To(Succeed())
		child.Wait()
		killedAt := time.Now()
		expectNoTemblorBPF()
		GinkgoWriter.Printf("MEASURE SIGKILL: no Temblor BPF object left %s after the kill\n", time.Since(killedAt))
		Expect(connectResult(pod, addr)).To(Equal("ok"))

		By("restarting the agent: the fault, still before its deadline, is re-applied")
		restartedAt := time.Now()
		child = startChild(dir)
		Eventually(func() string { return connectResult(pod, addr) }).WithTimeout(20 * time.Second).WithPolling(50 * time.Millisecond).Should(Equal("ECONNREFUSED"))
		GinkgoWriter.Printf("MEASURE restart: fault effective again %s after the new agent started\n", time.Since(restartedAt))
		expectInjected(fi, 5*time.Second)

		By("deleting: the restarted agent tears down and releases the finalizer")
		deleteAndExpectGone(fi, 10*time.Second)
		expectNoTemblorBPF()
		stopChild(child)
		Expect(get2(fi)).To(BeNil())
	})
})

// stopChild stops a child agent with SIGTERM (it tears down on the way
// out) and waits for it.
func stopChild(c *exec.Cmd) {
	if c.ProcessState != nil || c.Process == nil {
		return
	}
	c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		<-done
	}
}

// get2 returns fi, or nil when it no longer exists.
func get2(fi *chaosv1.FaultInjection) *chaosv1.FaultInjection {
	out := &chaosv1.FaultInjection{}
	if err := k8sClient.Get(ctxBackground(), keyOf(fi), out); err != nil {
		return nil
	}
	return out
}
