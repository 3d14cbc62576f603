package controllers_test

import (
	"io"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

var _ = Describe("kubectl get faults", func() {
	It("shows action, phase, targets and time left", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		ensureNode(ctx, "node-a")
		for _, name := range []string{"pay-0", "pay-1"} {
			runningPod(ctx, ns, name, "node-a", map[string]string{"app": "pay"})
		}
		f := networkFault(ns, "flaky-db", "pay")
		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		waitPhase(ctx, f, chaosv1.FaultRunning)
		Eventually(func(g Gomega) { g.Expect(getFault(ctx, f)(g).Status.TimeLeft).NotTo(BeEmpty()) }).Should(Succeed())

		kubectl, err := testEnv.ControlPlane.KubeCtl(), error(nil)
		Expect(err).NotTo(HaveOccurred())
		stdout, stderr, err := kubectl.Run("get", "faults", "-n", ns)
		errText, _ := io.ReadAll(stderr)
		Expect(err).NotTo(HaveOccurred(), string(errText))
		out, err := io.ReadAll(stdout)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("kubectl get faults -n "+ns, string(out))

		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "ACTION", "PHASE", "TARGETS", "LEFT", "AGE"}))
		Expect(lines[1]).To(MatchRegexp(`^flaky-db\s+drop egress TCP 30% dports 5432\s+Running\s+2\s+(59m[0-9]+s|1h0m0s)\s+\S+$`))
	})
})
