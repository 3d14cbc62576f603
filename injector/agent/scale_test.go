package agent_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("Fifty fake pods", Ordered, Label("syscall", "scale"), func() {
	const pods = 50

	It("are attached quickly and all removed on time at the deadline", func(ctx SpecContext) {
		var targets []chaosv1.InjectionTarget
		var fakes []*podresolvetest.Pod
		for i := range pods {
			p := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
			fakes = append(fakes, p)
			targets = append(targets, target(p, fmt.Sprintf("web-%d", i)))
		}
		addr := listener()
		deadline := time.Now().Add(12 * time.Second).Truncate(time.Second) // the API keeps seconds
		fi := newInjection(uniqueName("fifty"), nodeA, deadline, connectRefused, targets...)
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		created := get(fi).CreationTimestamp.Time // second resolution: use our clock too
		start := time.Now()
		expectInjected(fi, 20*time.Second)
		allInStatus := time.Since(start)

		var lat []time.Duration
		for _, p := range fakes {
			at, ok := attachLog.get(p.Dir)
			Expect(ok).To(BeTrue(), "no attach recorded for %s", p.Dir)
			lat = append(lat, at.Sub(start))
		}
		GinkgoWriter.Printf("MEASURE %d targets: create→attached p50 %s p99 %s max %s; create→all Injected in status %s (apiserver creationTimestamp %s)\n",
			pods, percentile(lat, 50), percentile(lat, 99), percentile(lat, 100), allInStatus, created.Format(time.RFC3339))
		GinkgoWriter.Printf("MEASURE attach duration per target (histogram): mean %s over %d attaches\n", histMean("temblor_attach_duration_seconds"), int(metricValue("temblor_attach_duration_seconds")))
		Expect(connectResult(fakes[0], addr)).To(Equal("ECONNREFUSED"))
		Expect(connectResult(fakes[pods-1], addr)).To(Equal("ECONNREFUSED"))
		Expect(agentA.HeldTargets()).To(Equal(pods))

		Eventually(agentA.HeldTargets).WithTimeout(time.Until(deadline) + 2*time.Second).WithPolling(time.Millisecond).Should(BeZero())
		lateness := time.Since(deadline)
		GinkgoWriter.Printf("MEASURE %d targets: teardown complete %s after the deadline\n", pods, lateness)
		Expect(lateness).To(BeNumerically("<", time.Second))
		Expect(connectResult(fakes[0], addr)).To(Equal("ok"))
		expectNoTemblorBPF()
		Eventually(func() chaosv1.InjectionPhase { return get(fi).Status.Phase }).WithTimeout(5 * time.Second).Should(Equal(chaosv1.InjectionRemoved))
		deleteAndExpectGone(fi, 5*time.Second)
	})
})
