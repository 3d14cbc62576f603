package controllers_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

var nsCounter atomic.Int32

// newNamespace creates a fresh namespace for one spec.
func newNamespace(ctx context.Context) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("spec-%d-%d", GinkgoParallelProcess(), nsCounter.Add(1))}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// ensureNode creates a Node object if it does not exist.
func ensureNode(ctx context.Context, name string) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8sClient.Create(ctx, node); err != nil {
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	}
}

// runningPod creates a pod bound to node and marks it Running, as a kubelet
// would.
func runningPod(ctx context.Context, ns, name, node string, labels map[string]string) *corev1.Pod {
	return podInPhase(ctx, ns, name, node, labels, corev1.PodRunning)
}

func podInPhase(ctx context.Context, ns, name, node string, labels map[string]string, phase corev1.PodPhase) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:                     node,
			AutomountServiceAccountToken: ptr.To(false),
			Containers:                   []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}, {Name: "sidecar", Image: "example.invalid/sidecar:1"}},
		},
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status.Phase = phase
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "app", ContainerID: "containerd://app-" + name},
		{Name: "sidecar", ContainerID: "containerd://sidecar-" + name},
	}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	return pod
}

// networkFault is a valid drop fault over pods labelled app=<app>.
func networkFault(ns, name, app string) *chaosv1.Fault {
	return &chaosv1.Fault{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: chaosv1.FaultSpec{
			Selector: chaosv1.PodSelector{MatchLabels: map[string]chaosv1.SelectorValue{"app": chaosv1.SelectorValue(app)}},
			Duration: metav1.Duration{Duration: time.Hour},
			FaultAction: chaosv1.FaultAction{Network: &chaosv1.NetworkAction{
				Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Probability: "30",
				Protocol: chaosv1.ProtocolTCP, DestinationPorts: []chaosv1.PortRange{{From: 5432}},
			}},
		},
	}
}

func getFault(ctx context.Context, f *chaosv1.Fault) func(Gomega) *chaosv1.Fault {
	return func(g Gomega) *chaosv1.Fault {
		out := &chaosv1.Fault{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(f), out)).To(Succeed())
		return out
	}
}

// waitPhase waits until the fault reaches phase and returns it.
func waitPhase(ctx context.Context, f *chaosv1.Fault, phase chaosv1.FaultPhase) *chaosv1.Fault {
	var out *chaosv1.Fault
	Eventually(func(g Gomega) {
		out = getFault(ctx, f)(g)
		g.Expect(out.Status.Phase).To(Equal(phase))
	}).Should(Succeed())
	return out
}

func injectionsOf(ctx context.Context, g Gomega, f *chaosv1.Fault) []chaosv1.FaultInjection {
	var list chaosv1.FaultInjectionList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(f.Namespace),
		client.MatchingLabels{chaosv1.LabelFault: f.Name})).To(Succeed())
	return list.Items
}

// actAsAgent plays a node agent for fi: it reports every target injected
// with the given counters.
func actAsAgent(ctx context.Context, fi *chaosv1.FaultInjection, counters chaosv1.Counters) {
	patch := client.MergeFrom(fi.DeepCopy())
	fi.Status.Phase = chaosv1.InjectionInjected
	fi.Status.Counters = counters
	fi.Status.Targets = nil
	for _, t := range fi.Spec.Targets {
		fi.Status.Targets = append(fi.Status.Targets, chaosv1.TargetStatus{
			PodUID: t.PodUID, Name: t.Name, State: chaosv1.TargetInjected, Methods: []string{"eth0 egress tcx"},
		})
	}
	Expect(k8sClient.Status().Patch(ctx, fi, patch)).To(Succeed())
}

// confirmTeardown plays the agent confirming teardown: it removes the
// finalizer of every deleting FaultInjection of f.
func confirmTeardown(ctx context.Context, f *chaosv1.Fault) {
	Eventually(func(g Gomega) {
		items := injectionsOf(ctx, g, f)
		for i := range items {
			fi := &items[i]
			g.Expect(fi.DeletionTimestamp).NotTo(BeNil(), "injection %s not being deleted", fi.Name)
			patch := client.MergeFrom(fi.DeepCopy())
			controllerutil.RemoveFinalizer(fi, chaosv1.Finalizer)
			g.Expect(client.IgnoreNotFound(k8sClient.Patch(ctx, fi, patch))).To(Succeed())
		}
		g.Expect(injectionsOf(ctx, g, f)).To(BeEmpty())
	}).Should(Succeed())
}

func key(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}
