package agent_test

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("A target whose namespace is gone while the pod stays", Label("network", "lifetime"), func() {
	It("has its attachment, keyed by the old namespace, released at once and says why it is not injected", func(ctx SpecContext) {
		a, _ := vethPair()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{NetNS: a})
		act := dropEgressUDP()
		fi := newInjection(uniqueName("stalens"), nodeA, time.Now().Add(5*time.Minute), act, target(pod, "web-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		DeferCleanup(func() { deleteAndExpectGone(fi, 10*time.Second) })
		expectInjected(fi, 10*time.Second)

		By("recreating the sandbox: a process of the pod in a new network namespace, the old ones gone")
		cmd := pod.CommandIn(GinkgoT(), exec.Command("unshare", "-n", "sleep", "60"), pod.PauseID)
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		old, err := os.Readlink(pod.NetNSPath)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() string {
			ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
			return ns
		}).WithTimeout(5 * time.Second).ShouldNot(Or(BeEmpty(), Equal(old)))
		Expect(syscall.Kill(pod.PausePID, syscall.SIGKILL)).To(Succeed())
		Expect(syscall.Kill(pod.AppPID, syscall.SIGKILL)).To(Succeed())

		// The new namespace has no interface besides lo: the fault cannot
		// be applied there, and the old one's attachment must go anyway.
		Eventually(agentA.HeldTargets).WithTimeout(time.Second).WithPolling(10 * time.Millisecond).Should(BeZero())
		Eventually(func(g Gomega) {
			t := get(fi).Status.Targets[0]
			g.Expect(t.State).To(Equal(chaosv1.TargetPending))
			g.Expect(t.Message).To(ContainSubstring("could not apply the fault again after a restart"))
		}).WithTimeout(10 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("message: %s\n", get(fi).Status.Targets[0].Message)
		expectNoTemblorBPF()
	})
})
