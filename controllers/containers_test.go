package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// podWithContainers creates a Running pod on node-a with the given
// containers; ids maps a container name to its runtime ID ("" or absent:
// not started yet).
func podWithContainers(ctx context.Context, ns, name string, labels map[string]string, containers []string, ids map[string]string) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: "node-a", AutomountServiceAccountToken: ptr.To(false)},
	}
	for _, c := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "example.invalid/" + c + ":1"})
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status.Phase = corev1.PodRunning
	for _, c := range containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: c, ContainerID: ids[c]})
	}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
}

func containerFault(ns, name, app string, containers ...string) *chaosv1.Fault {
	return &chaosv1.Fault{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: chaosv1.FaultSpec{
			Selector: chaosv1.PodSelector{MatchLabels: map[string]chaosv1.SelectorValue{"app": chaosv1.SelectorValue(app)}, ContainerNames: containers},
			Duration: metav1.Duration{Duration: time.Minute},
			FaultAction: chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{
				Syscalls: []chaosv1.SyscallName{"openat"}, Errno: "EIO",
			}},
		},
	}
}

var _ = Describe("containerNames never widens the blast radius", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		ensureNode(ctx, "node-a")
	})

	It("fails a Fault whose container name matches no container, naming pods and names", func(ctx SpecContext) {
		for _, name := range []string{"web-0", "web-1"} {
			podWithContainers(ctx, ns, name, map[string]string{"app": "web"}, []string{"app", "sidecar"},
				map[string]string{"app": "containerd://app-" + name, "sidecar": "containerd://sc-" + name})
		}
		f := containerFault(ns, "typo", "web", "ap")
		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		got := waitPhase(ctx, f, chaosv1.FaultFailed)
		cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionTargetsSelected)
		Expect(cond).NotTo(BeNil())
		Expect(cond.Reason).To(Equal(chaosv1.ReasonNoTargets))
		Expect(cond.Message).To(ContainSubstring(`web-0: no container named "ap"`))
		Expect(cond.Message).To(ContainSubstring(`web-1: no container named "ap"`))
		Expect(got.Status.Targets).To(BeEmpty())
		Eventually(func(g Gomega) {
			evs := eventsOf(ctx, g, f, chaosv1.ReasonNoTargets)
			g.Expect(evs).NotTo(BeEmpty())
			g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
			g.Expect(evs[0].Note).To(ContainSubstring(`web-0: no container named "ap"`))
		}).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(injectionsOf(ctx, g, f)).To(BeEmpty()) }, "500ms").Should(Succeed())
	})

	It("refuses pods missing a named container or whose container has not started, and keeps the others", func(ctx SpecContext) {
		lbl := map[string]string{"app": "mix"}
		podWithContainers(ctx, ns, "mix-good", lbl, []string{"app", "sidecar"},
			map[string]string{"app": "containerd://app-good", "sidecar": "containerd://sc-good"})
		podWithContainers(ctx, ns, "mix-nostart", lbl, []string{"app", "sidecar"},
			map[string]string{"sidecar": "containerd://sc-nostart"})
		podWithContainers(ctx, ns, "mix-other", lbl, []string{"worker", "sidecar"},
			map[string]string{"worker": "containerd://w-other", "sidecar": "containerd://sc-other"})
		f := containerFault(ns, "mix", "mix", "app")
		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		got := waitPhase(ctx, f, chaosv1.FaultRunning)
		Expect(got.Status.Targets).To(HaveLen(1))
		Expect(got.Status.Targets[0].Name).To(Equal("mix-good"))
		Expect(got.Status.Targets[0].ContainerIDs).To(Equal([]string{"containerd://app-good"}))
		cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionTargetsSelected)
		Expect(cond.Message).To(ContainSubstring(`mix-nostart: container "app" has not started`))
		Expect(cond.Message).To(ContainSubstring(`mix-other: no container named "app"`))
		Eventually(func(g Gomega) {
			evs := eventsOf(ctx, g, f, chaosv1.ReasonContainersNotFound)
			g.Expect(evs).To(HaveLen(1))
			g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
			g.Expect(evs[0].Note).To(ContainSubstring("mix-nostart"))
			g.Expect(evs[0].Note).To(ContainSubstring("mix-other"))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			items := injectionsOf(ctx, g, f)
			g.Expect(items).To(HaveLen(1))
			g.Expect(items[0].Spec.Targets).To(HaveLen(1))
			for _, t := range items[0].Spec.Targets {
				g.Expect(t.ContainerIDs).NotTo(BeEmpty(), "a containerNames fault must never hit a whole pod")
			}
		}).Should(Succeed())
	})

	It("requires every listed name in a pod, not just one", func(ctx SpecContext) {
		podWithContainers(ctx, ns, "both-0", map[string]string{"app": "both"}, []string{"app", "sidecar"},
			map[string]string{"app": "containerd://app-b0", "sidecar": "containerd://sc-b0"})
		f := containerFault(ns, "partial-typo", "both", "app", "sidecr")
		Expect(k8sClient.Create(ctx, f)).To(Succeed())
		got := waitPhase(ctx, f, chaosv1.FaultFailed)
		cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionTargetsSelected)
		Expect(cond.Reason).To(Equal(chaosv1.ReasonNoTargets))
		Expect(cond.Message).To(ContainSubstring(`both-0: no container named "sidecr"`))
	})
})
