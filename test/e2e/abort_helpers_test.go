//go:build e2e

package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// abortRun applies one Fault in ns that its own abort condition aborts,
// waits until it is Aborted and every FaultInjection is gone, and returns
// the reaction time (first target injected → every target detached), the
// detection time (first target injected → abort decided) and the Fault as
// last seen.
func abortRun(iw *injectionWatch, ns, name, spec string) (react, detect time.Duration, f *chaosv1.Fault) {
	GinkgoHelper()
	apply(faultYAML(ns, name, spec))
	var injected, gone time.Time
	Eventually(func(g Gomega) {
		injected, f, gone = iw.state(name)
		g.Expect(f).NotTo(BeNil())
		g.Expect(f.Status.Phase).To(Equal(chaosv1.FaultAborted), "%s: %v", name, f.Status.Conditions)
		g.Expect(gone.IsZero()).To(BeFalse(), "%s: FaultInjections still there", name)
		g.Expect(meta.IsStatusConditionTrue(f.Status.Conditions, chaosv1.ConditionCompleted)).To(BeTrue())
	}).WithTimeout(60*time.Second).WithPolling(20*time.Millisecond).Should(Succeed(), "%s aborted and torn down", name)
	Expect(injected.IsZero()).To(BeFalse(), "%s aborted before any target was injected: the check failed for another reason (%v)", name, f.Status.Abort)
	Expect(f.Status.Abort).NotTo(BeNil())
	return gone.Sub(injected), f.Status.Abort.Time.Sub(injected), f
}

// reportAbortReaction prints and records one check kind's reaction times
// with the bound they are held to and how that bound is made up.
func reportAbortReaction(kind string, react, detect []time.Duration, bound time.Duration, boundParts string) {
	r := fmt.Sprintf("%s check: first target injected → every target detached: p50 %s p99 %s max %s (n=%d; bound %s = %s)\n"+
		"  of which injected → abort decided: p50 %s p99 %s",
		kind, pct(react, 50), pct(react, 99), pct(react, 100), len(react), bound, boundParts, pct(detect, 50), pct(detect, 99))
	AddReportEntry("abort reaction, "+kind, r)
	GinkgoWriter.Println(r)
}

// reportAbortedFault records `kubectl get faults -o wide` and `kubectl
// describe fault` of a Fault aborted by a check of the given kind.
func reportAbortedFault(ns, name, kind string) {
	GinkgoHelper()
	AddReportEntry("kubectl get faults -o wide (aborted by "+kind+")", mustKubectl("get", "faults", "-n", ns, "-o", "wide"))
	AddReportEntry("kubectl describe fault (aborted by "+kind+")", mustKubectl("describe", "fault", "-n", ns, name))
}
