//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// faultYAML is a Fault manifest for the suite's namespaces.
func faultYAML(ns, name, specTail string) string {
	return fmt.Sprintf(`apiVersion: chaos.temblor.dev/v1alpha1
kind: Fault
metadata:
  name: %s
  namespace: %s
spec:
%s`, name, ns, specTail)
}

func jsonpath(ns, kind, name, path string) string {
	out, _ := kubectl("get", kind, "-n", ns, name, "-o", "jsonpath="+path)
	return strings.TrimSpace(out)
}

var _ = Describe("Guards and modes", Ordered, Label("guards"), func() {
	var ns string
	dumpOnFailure(&ns)

	BeforeAll(func() {
		requireTemblor()
		ns = testNamespace("temblor-e2e-guards")
		apply(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %s
spec:
  replicas: 10
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      automountServiceAccountToken: false
      enableServiceLinks: false
      containers:
      - name: app
        image: %s
        imagePullPolicy: %s
        args: [server]
        securityContext: {runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false}
`, ns, appImage, pullPolicy))
		_, err := kubectl("rollout", "status", "-n", ns, "deploy/web", "--timeout=180s")
		Expect(err).NotTo(HaveOccurred())
	})

	It("mode Percent over a Deployment of 10 replicas hits 3 pods", func() {
		apply(faultYAML(ns, "percent", `  selector: {matchLabels: {app: web}}
  mode: Percent
  percent: 30
  duration: 10s
  syscall: {syscalls: [connect], errno: ECONNREFUSED}
`))
		Eventually(func(g Gomega) {
			g.Expect(jsonpath(ns, "fault", "percent", "{.status.phase}")).To(Equal("Running"))
			g.Expect(jsonpath(ns, "fault", "percent", "{.status.targetCount}")).To(Equal("3"))
			g.Expect(jsonpath(ns, "fault", "percent", "{.status.conditions[?(@.type=='Injected')].status}")).To(Equal("True"))
		}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		Eventually(func() string { return jsonpath(ns, "fault", "percent", "{.status.phase}") }).
			WithTimeout(40 * time.Second).WithPolling(time.Second).Should(Equal("Succeeded"))
	})

	It("refuses kube-system", func() {
		name := "hit-kube-system-" + randSuffix()
		apply(faultYAML("kube-system", name, `  selector: {matchLabels: {component: kube-apiserver}}
  duration: 10s
  network: {type: Drop}
`))
		DeferCleanup(func() { kubectl("delete", "fault", "-n", "kube-system", name, "--wait=false") })
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("kube-system", "fault", name, "{.status.phase}")).To(Equal("Failed"))
			g.Expect(jsonpath("kube-system", "fault", name, "{.status.conditions[?(@.type=='TargetsSelected')].reason}")).To(Equal("ProtectedNamespace"))
		}).WithTimeout(20 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		out, err := kubectl("get", "faultinjections", "-n", "kube-system", "-o", "name")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.TrimSpace(out)).To(BeEmpty())
	})

	It("dry run reports targets and injects nothing", func() {
		apply(faultYAML(ns, "dry", `  selector: {matchLabels: {app: web}}
  duration: 10s
  dryRun: true
  network: {type: Drop}
`))
		Eventually(func(g Gomega) {
			g.Expect(jsonpath(ns, "fault", "dry", "{.status.phase}")).To(Equal("Succeeded"))
			g.Expect(jsonpath(ns, "fault", "dry", "{.status.targetCount}")).To(Equal("10"))
		}).WithTimeout(20 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		Consistently(func() string {
			out, _ := kubectl("get", "faultinjections", "-n", ns, "-l", "chaos.temblor.dev/fault=dry", "-o", "name")
			return strings.TrimSpace(out)
		}).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(BeEmpty())
	})

	It("rejects an invalid Fault at kubectl apply with the field named", func() {
		_, err := kubectlIn(faultYAML(ns, "bad", `  selector: {matchLabels: {app: web}}
  duration: 48h
  network: {type: Drop, probability: "150"}
`), "apply", "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.duration"))
		Expect(err.Error()).To(ContainSubstring("spec.network.probability"))
	})
})
