package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

var _ = Describe("Fault reconciler", func() {
	var ns string

	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		ensureNode(ctx, "node-a")
		ensureNode(ctx, "node-b")
	})

	Describe("target selection", func() {
		BeforeEach(func(ctx SpecContext) {
			for i := range 6 {
				runningPod(ctx, ns, fmt.Sprintf("web-%d", i), []string{"node-a", "node-b"}[i%2], map[string]string{"app": "web"})
			}
		})

		DescribeTable("applies the mode",
			func(ctx SpecContext, mode chaosv1.Mode, count, percent *int32, want int) {
				f := networkFault(ns, "mode", "web")
				f.Spec.Mode, f.Spec.Count, f.Spec.Percent = mode, count, percent
				Expect(k8sClient.Create(ctx, f)).To(Succeed())
				got := waitPhase(ctx, f, chaosv1.FaultRunning)
				Expect(got.Status.Targets).To(HaveLen(want))
				Expect(got.Status.TargetCount).To(BeEquivalentTo(want))
				cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionTargetsSelected)
				Expect(cond).NotTo(BeNil())
				Expect(cond.Status).To(Equal(metav1.ConditionTrue))
				Expect(cond.Message).To(ContainSubstring("selected %d of 6", want))
			},
			Entry("All hits every matching pod", chaosv1.ModeAll, nil, nil, 6),
			Entry("One hits one pod", chaosv1.ModeOne, nil, nil, 1),
			Entry("Fixed hits count pods", chaosv1.ModeFixed, ptr.To[int32](4), nil, 4),
			Entry("Fixed caps at the matching pods", chaosv1.ModeFixed, ptr.To[int32](50), nil, 6),
			Entry("Percent rounds down", chaosv1.ModePercent, nil, ptr.To[int32](50), 3),
			Entry("Percent hits at least one pod", chaosv1.ModePercent, nil, ptr.To[int32](1), 1),
		)

		It("writes one FaultInjection per node with its targets and the absolute deadline", func(ctx SpecContext) {
			f := networkFault(ns, "per-node", "web")
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			got := waitPhase(ctx, f, chaosv1.FaultRunning)
			Expect(got.Status.ExpiryTime.Time).To(BeTemporally("==", got.Status.StartTime.Add(time.Hour)))

			Eventually(func(g Gomega) {
				items := injectionsOf(ctx, g, f)
				g.Expect(items).To(HaveLen(2))
				for _, fi := range items {
					g.Expect(fi.Name).To(Equal(chaosv1.FaultInjectionName(f.Name, fi.Spec.NodeName)))
					g.Expect(fi.Name).To(HavePrefix(f.Name + "-" + fi.Spec.NodeName + "-"))
					g.Expect(fi.Labels).To(HaveKeyWithValue(chaosv1.LabelNode, fi.Spec.NodeName))
					g.Expect(fi.Finalizers).To(ContainElement(chaosv1.Finalizer))
					g.Expect(metav1.IsControlledBy(&fi, got)).To(BeTrue())
					g.Expect(fi.Spec.Deadline.Time).To(BeTemporally("==", got.Status.ExpiryTime.Time))
					g.Expect(fi.Spec.Network).To(Equal(f.Spec.Network))
					g.Expect(fi.Spec.Targets).To(HaveLen(3))
					for _, t := range fi.Spec.Targets {
						var pod corev1.Pod
						g.Expect(k8sClient.Get(ctx, key(ns, t.Name), &pod)).To(Succeed())
						g.Expect(pod.Spec.NodeName).To(Equal(fi.Spec.NodeName))
						g.Expect(t.PodUID).To(BeEquivalentTo(pod.UID))
						g.Expect(t.Namespace).To(Equal(ns))
					}
				}
			}).Should(Succeed())
		})

		It("never selects pods of another namespace", func(ctx SpecContext) {
			other := newNamespace(ctx)
			for i := range 3 {
				runningPod(ctx, other, fmt.Sprintf("web-%d", i), "node-a", map[string]string{"app": "web"})
			}
			f := networkFault(ns, "isolated", "web")
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			got := waitPhase(ctx, f, chaosv1.FaultRunning)
			Expect(got.Status.Targets).To(HaveLen(6))
			var inOther corev1.PodList
			Expect(k8sClient.List(ctx, &inOther, client.InNamespace(other))).To(Succeed())
			for _, t := range got.Status.Targets {
				for _, p := range inOther.Items {
					Expect(t.UID).NotTo(BeEquivalentTo(p.UID))
				}
			}
		})

		It("skips pods that are not Running or are being deleted, and honours podNames", func(ctx SpecContext) {
			podInPhase(ctx, ns, "web-pending", "node-a", map[string]string{"app": "web"}, corev1.PodPending)
			dying := runningPod(ctx, ns, "web-dying", "node-a", map[string]string{"app": "web"})
			dying.Finalizers = []string{"example.com/hold"}
			Expect(k8sClient.Update(ctx, dying)).To(Succeed())
			Expect(k8sClient.Delete(ctx, dying)).To(Succeed())
			DeferCleanup(func(ctx SpecContext) {
				var p corev1.Pod
				Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dying), &p)).To(Succeed())
				p.Finalizers = nil
				Expect(k8sClient.Update(ctx, &p)).To(Succeed())
			})

			f := networkFault(ns, "running-only", "web")
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			got := waitPhase(ctx, f, chaosv1.FaultRunning)
			Expect(got.Status.Targets).To(HaveLen(6))
			for _, t := range got.Status.Targets {
				Expect(t.Name).NotTo(BeElementOf("web-pending", "web-dying"))
			}

			named := networkFault(ns, "named", "web")
			named.Spec.Selector.PodNames = []string{"web-1", "web-4", "web-pending"}
			Expect(k8sClient.Create(ctx, named)).To(Succeed())
			got = waitPhase(ctx, named, chaosv1.FaultRunning)
			Expect(got.Status.Targets).To(ConsistOf(
				HaveField("Name", "web-1"), HaveField("Name", "web-4")))
		})

		It("records the container IDs of the named containers for a syscall fault", func(ctx SpecContext) {
			f := &chaosv1.Fault{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "containers"},
				Spec: chaosv1.FaultSpec{
					Selector: chaosv1.PodSelector{MatchLabels: map[string]chaosv1.SelectorValue{"app": "web"}, ContainerNames: []string{"app"}},
					Mode:     chaosv1.ModeOne,
					Duration: metav1.Duration{Duration: time.Minute},
					FaultAction: chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{
						Syscalls: []chaosv1.SyscallName{"openat"}, Errno: "EIO", PathPrefix: "/data/",
					}},
				},
			}
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			got := waitPhase(ctx, f, chaosv1.FaultRunning)
			Expect(got.Status.Targets).To(HaveLen(1))
			t := got.Status.Targets[0]
			Expect(t.ContainerIDs).To(Equal([]string{"containerd://app-" + t.Name}))
			Expect(got.Status.Action).To(Equal("syscall openat EIO 100% path /data/*"))
			Eventually(func(g Gomega) {
				items := injectionsOf(ctx, g, f)
				g.Expect(items).To(HaveLen(1))
				g.Expect(items[0].Spec.Targets[0].ContainerIDs).To(Equal(t.ContainerIDs))
				g.Expect(items[0].Spec.Syscall.PathPrefix).To(Equal("/data/"))
			}).Should(Succeed())
		})
	})

	Describe("guards", func() {
		It("refuses a Fault in a protected namespace and creates nothing", func(ctx SpecContext) {
			runningPod(ctx, "kube-system", "coredns-"+ns, "node-a", map[string]string{"app": "dns-" + ns})
			f := networkFault("kube-system", "hit-dns-"+ns, "dns-"+ns)
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			got := waitPhase(ctx, f, chaosv1.FaultFailed)
			cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionTargetsSelected)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Reason).To(Equal(chaosv1.ReasonProtectedNamespace))
			Expect(cond.Message).To(ContainSubstring("kube-system is protected"))
			Expect(got.Status.Targets).To(BeEmpty())
			Consistently(func(g Gomega) { g.Expect(injectionsOf(ctx, g, f)).To(BeEmpty()) }, "500ms").Should(Succeed())
		})

		It("fails a Fault whose selector matches no running pod", func(ctx SpecContext) {
			f := networkFault(ns, "nothing", "no-such-app")
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			got := waitPhase(ctx, f, chaosv1.FaultFailed)
			cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionTargetsSelected)
			Expect(cond.Reason).To(Equal(chaosv1.ReasonNoTargets))
			Expect(cond.Message).To(ContainSubstring("matches no running pod"))
		})

		It("resolves targets in a dry run and creates nothing", func(ctx SpecContext) {
			runningPod(ctx, ns, "db-0", "node-a", map[string]string{"app": "db"})
			runningPod(ctx, ns, "db-1", "node-b", map[string]string{"app": "db"})
			f := networkFault(ns, "dry", "db")
			f.Spec.DryRun = true
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			got := waitPhase(ctx, f, chaosv1.FaultSucceeded)
			Expect(got.Status.Targets).To(HaveLen(2))
			Expect(got.Status.StartTime).To(BeNil())
			Expect(meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionCompleted).Reason).To(Equal(chaosv1.ReasonDryRun))
			Consistently(func(g Gomega) { g.Expect(injectionsOf(ctx, g, f)).To(BeEmpty()) }, "500ms").Should(Succeed())
		})
	})

	Describe("lifetime", func() {
		var f *chaosv1.Fault

		BeforeEach(func(ctx SpecContext) {
			runningPod(ctx, ns, "api-0", "node-a", map[string]string{"app": "api"})
			runningPod(ctx, ns, "api-1", "node-b", map[string]string{"app": "api"})
			runningPod(ctx, ns, "api-2", "node-b", map[string]string{"app": "api"})
			f = networkFault(ns, "life", "api")
			f.Spec.Duration = metav1.Duration{Duration: 90 * time.Second}
			Expect(k8sClient.Create(ctx, f)).To(Succeed())
			waitPhase(ctx, f, chaosv1.FaultRunning)
			Eventually(func(g Gomega) { g.Expect(injectionsOf(ctx, g, f)).To(HaveLen(2)) }).Should(Succeed())
		})

		It("rolls the agents' reports up into the Fault's status", func(ctx SpecContext) {
			Eventually(func(g Gomega) {
				got := getFault(ctx, f)(g)
				g.Expect(meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionInjected).Reason).To(Equal(chaosv1.ReasonInjectionPending))
			}).Should(Succeed())

			var items chaosv1.FaultInjectionList
			Expect(k8sClient.List(ctx, &items, client.InNamespace(ns))).To(Succeed())
			for i := range items.Items {
				actAsAgent(ctx, &items.Items[i], chaosv1.Counters{PacketsMatched: 100, PacketsDropped: int64(30 + i)})
			}
			Eventually(func(g Gomega) {
				got := getFault(ctx, f)(g)
				g.Expect(got.Status.Counters).To(Equal(chaosv1.Counters{PacketsMatched: 200, PacketsDropped: 61}))
				cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionInjected)
				g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(cond.Message).To(Equal("all 3 targets injected on 2 nodes"))
				g.Expect(got.Status.Nodes).To(ConsistOf(
					HaveField("NodeName", "node-a"), HaveField("NodeName", "node-b")))
				for _, n := range got.Status.Nodes {
					g.Expect(n.Phase).To(Equal(chaosv1.InjectionInjected))
					g.Expect(n.Injected).To(Equal(n.Targets))
					g.Expect(n.Counters.PacketsMatched).To(BeEquivalentTo(100))
				}
				g.Expect(got.Status.Nodes).To(ConsistOf(
					HaveField("Targets", int32(1)), HaveField("Targets", int32(2)),
				))
				g.Expect(got.Status.TimeLeft).To(MatchRegexp(`^1m[0-9]+s$`))
			}).Should(Succeed())
		})

		It("reports targets that failed or vanished", func(ctx SpecContext) {
			var items chaosv1.FaultInjectionList
			Expect(k8sClient.List(ctx, &items, client.InNamespace(ns), client.MatchingLabels{chaosv1.LabelNode: "node-b"})).To(Succeed())
			fi := &items.Items[0]
			patch := client.MergeFrom(fi.DeepCopy())
			fi.Status.Phase = chaosv1.InjectionPartiallyInjected
			fi.Status.Targets = []chaosv1.TargetStatus{
				{PodUID: fi.Spec.Targets[0].PodUID, Name: fi.Spec.Targets[0].Name, State: chaosv1.TargetInjected},
				{PodUID: fi.Spec.Targets[1].PodUID, Name: fi.Spec.Targets[1].Name, State: chaosv1.TargetGone, Message: "pod deleted"},
			}
			Expect(k8sClient.Status().Patch(ctx, fi, patch)).To(Succeed())
			Eventually(func(g Gomega) {
				cond := meta.FindStatusCondition(getFault(ctx, f)(g).Status.Conditions, chaosv1.ConditionInjected)
				g.Expect(cond.Reason).To(Equal(chaosv1.ReasonPartiallyInjected))
				g.Expect(cond.Message).To(ContainSubstring("1 of 3 targets injected"))
				g.Expect(cond.Message).To(ContainSubstring(fi.Spec.Targets[1].Name + " on node-b: Gone pod deleted"))
			}).Should(Succeed())
		})

		It("tears down at expiry and ends Succeeded once the agents confirm", func(ctx SpecContext) {
			var items chaosv1.FaultInjectionList
			Expect(k8sClient.List(ctx, &items, client.InNamespace(ns))).To(Succeed())
			for i := range items.Items {
				actAsAgent(ctx, &items.Items[i], chaosv1.Counters{SyscallsMatched: 5, SyscallsFailed: 5})
			}
			Consistently(func(g Gomega) {
				g.Expect(getFault(ctx, f)(g).Status.Phase).To(Equal(chaosv1.FaultRunning))
			}, "300ms").Should(Succeed())

			fakeClock.Step(91 * time.Second)
			Eventually(func(g Gomega) {
				items := injectionsOf(ctx, g, f)
				g.Expect(items).To(HaveLen(2))
				for _, fi := range items {
					g.Expect(fi.DeletionTimestamp).NotTo(BeNil())
				}
				cond := meta.FindStatusCondition(getFault(ctx, f)(g).Status.Conditions, chaosv1.ConditionCompleted)
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Reason).To(Equal(chaosv1.ReasonTearingDown))
			}).Should(Succeed())
			Expect(getFault(ctx, f)(Default).Status.Phase).To(Equal(chaosv1.FaultRunning), "Succeeded only after the agents confirm")

			confirmTeardown(ctx, f)
			got := waitPhase(ctx, f, chaosv1.FaultSucceeded)
			Expect(meta.IsStatusConditionTrue(got.Status.Conditions, chaosv1.ConditionCompleted)).To(BeTrue())
			Expect(got.Status.Counters.SyscallsFailed).To(BeEquivalentTo(10), "final counters kept")
			Expect(got.Status.TimeLeft).To(Equal("0s"))
		})

		It("tears down at once when the Fault is deleted mid-run", func(ctx SpecContext) {
			Expect(k8sClient.Delete(ctx, f)).To(Succeed())
			Eventually(func(g Gomega) {
				for _, fi := range injectionsOf(ctx, g, f) {
					g.Expect(fi.DeletionTimestamp).NotTo(BeNil())
				}
				g.Expect(getFault(ctx, f)(g).Finalizers).To(ContainElement(chaosv1.Finalizer))
			}).Should(Succeed())
			confirmTeardown(ctx, f)
			Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(f), &chaosv1.Fault{}) }).
				Should(Satisfy(func(err error) bool { return client.IgnoreNotFound(err) == nil && err != nil }))
		})

		It("removes the finalizer itself when the node is gone", func(ctx SpecContext) {
			ensureNode(ctx, "node-gone")
			runningPod(ctx, ns, "api-ghost", "node-gone", map[string]string{"app": "ghost"})
			g := networkFault(ns, "ghost", "ghost")
			Expect(k8sClient.Create(ctx, g)).To(Succeed())
			waitPhase(ctx, g, chaosv1.FaultRunning)
			Eventually(func(gm Gomega) { gm.Expect(injectionsOf(ctx, gm, g)).To(HaveLen(1)) }).Should(Succeed())
			Expect(k8sClient.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-gone"}})).To(Succeed())
			Expect(k8sClient.Delete(ctx, g)).To(Succeed())
			Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(g), &chaosv1.Fault{}) }).
				Should(Satisfy(func(err error) bool { return client.IgnoreNotFound(err) == nil && err != nil }))
		})

		It("refuses spec changes once running", func(ctx SpecContext) {
			got := getFault(ctx, f)(Default)
			patch := client.MergeFrom(got.DeepCopy())
			got.Spec.Network.Probability = "100"
			err := k8sClient.Patch(ctx, got, patch)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("spec is immutable once the Fault has started"))
		})
	})
})
