package admission_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

var _ = Describe("Only the manager writes FaultInjection orders", func() {
	var ns string
	BeforeEach(func(ctx context.Context) { ns = newNamespace(ctx) })

	It("lets the manager create one", func(ctx context.Context) {
		fi := createAsManager(ctx, ns, "f", "node-a")
		Expect(fresh(ctx, fi).Spec.NodeName).To(Equal("node-a"))
	})

	It("refuses a create by a user with RBAC create rights", func(ctx context.Context) {
		grantInNamespace(ctx, ns, "alice", "create", "get", "patch", "update")
		err := as("alice", []string{"system:authenticated"}, "").Create(ctx, injection(ns, "forged", "node-a"))
		expectDenied(err, "only the Temblor manager (system:serviceaccount:temblor-system:temblor-manager) may create FaultInjections",
			"user alice (token bound to no node) may not create one for node node-a")
	})

	It("refuses a create by a cluster admin too", func(ctx context.Context) {
		err := as("root", []string{"system:masters", "system:authenticated"}, "").Create(ctx, injection(ns, "forged", "node-a"))
		expectDenied(err, "may create FaultInjections", "user root (token bound to no node)")
	})

	It("refuses a create by the agent, even for its own node", func(ctx context.Context) {
		err := agentOn("node-a").Create(ctx, injection(ns, "forged", "node-a"))
		// RBAC refuses first; grant create to see the policy refuse too.
		Expect(err).To(MatchError(ContainSubstring("forbidden")))
		grantInNamespace(ctx, ns, agentUser, "create")
		err = agentOn("node-a").Create(ctx, injection(ns, "forged", "node-a"))
		expectDenied(err, "may create FaultInjections", "user "+agentUser+" (token bound to node node-a)")
	})

	It("refuses spec, label and status writes by another user with RBAC rights", func(ctx context.Context) {
		fi := createAsManager(ctx, ns, "f", "node-a")
		grantInNamespace(ctx, ns, "alice", "get", "patch", "update")
		alice := as("alice", []string{"system:authenticated"}, "")
		expectDenied(patchMain(ctx, alice, fi, func(o *chaosv1.FaultInjection) {
			o.Spec.Targets[0].Name = "other-pod"
		}), "only the Temblor manager may change a FaultInjection's spec", "user alice")
		expectDenied(patchMain(ctx, alice, fi, func(o *chaosv1.FaultInjection) {
			o.Labels[chaosv1.LabelNode] = "node-b"
		}), "may change a FaultInjection's labels", "user alice")
		expectDenied(patchStatus(ctx, alice, fi, chaosv1.InjectionRemoved),
			"only the Temblor agent of node node-a may write this FaultInjection's status", "user alice")
	})

	It("lets another user with RBAC rights remove a finalizer and delete (clean-up)", func(ctx context.Context) {
		fi := createAsManager(ctx, ns, "f", "node-a")
		grantInNamespace(ctx, ns, "alice", "get", "patch", "delete")
		alice := as("alice", []string{"system:authenticated"}, "")
		Expect(patchMain(ctx, alice, fi, func(o *chaosv1.FaultInjection) {
			controllerutil.RemoveFinalizer(o, chaosv1.Finalizer)
		})).To(Succeed())
		Expect(alice.Delete(ctx, fi)).To(Succeed())
	})

	It("lets the manager remove the finalizer of an abandoned injection", func(ctx context.Context) {
		fi := createAsManager(ctx, ns, "f", "node-gone")
		Expect(patchMain(ctx, manager(), fi, func(o *chaosv1.FaultInjection) {
			controllerutil.RemoveFinalizer(o, chaosv1.Finalizer)
		})).To(Succeed())
		Expect(manager().Delete(ctx, fi)).To(Succeed())
	})
})

var _ = Describe("Each agent touches only its own node's FaultInjections", func() {
	var ns string
	var onA, onB *chaosv1.FaultInjection
	BeforeEach(func(ctx context.Context) {
		ns = newNamespace(ctx)
		onA = createAsManager(ctx, ns, "f", "node-a")
		onB = createAsManager(ctx, ns, "f", "node-b")
	})

	It("lets the agent of node-a report status and release its finalizer", func(ctx context.Context) {
		a := agentOn("node-a")
		Expect(patchStatus(ctx, a, onA, chaosv1.InjectionInjected)).To(Succeed())
		Expect(fresh(ctx, onA).Status.Phase).To(Equal(chaosv1.InjectionInjected))
		Expect(manager().Delete(ctx, onA)).To(Succeed())
		Expect(patchStatus(ctx, a, onA, chaosv1.InjectionRemoved)).To(Succeed())
		Expect(patchMain(ctx, a, onA, func(o *chaosv1.FaultInjection) {
			controllerutil.RemoveFinalizer(o, chaosv1.Finalizer)
		})).To(Succeed())
		Eventually(func() error {
			return admin.Get(ctx, client.ObjectKeyFromObject(onA), &chaosv1.FaultInjection{})
		}).Should(MatchError(ContainSubstring("not found")))
	})

	It("refuses the agent of node-a on node-b's status, finalizers and spec", func(ctx context.Context) {
		a := agentOn("node-a")
		expectDenied(patchStatus(ctx, a, onB, chaosv1.InjectionRemoved),
			"only the Temblor agent of node node-b may write this FaultInjection's status",
			"user "+agentUser+" (token bound to node node-a) may not")
		expectDenied(patchMain(ctx, a, onB, func(o *chaosv1.FaultInjection) {
			controllerutil.RemoveFinalizer(o, chaosv1.Finalizer)
		}), "a Temblor agent may change only its own node's FaultInjections",
			"(token bound to node node-a) may not change one for node node-b")
		// Moving node-b's order to node-a is no way around it.
		expectDenied(patchMain(ctx, a, onB, func(o *chaosv1.FaultInjection) {
			o.Spec.NodeName = "node-a"
			o.Labels[chaosv1.LabelNode] = "node-a"
		}), "a Temblor agent may change only its own node's FaultInjections", "for node node-a")
		Expect(fresh(ctx, onB).Finalizers).To(ContainElement(chaosv1.Finalizer))
		Expect(fresh(ctx, onB).Status.Phase).To(BeEmpty())
	})

	It("refuses the agent of node-a a change of its own order", func(ctx context.Context) {
		a := agentOn("node-a")
		expectDenied(patchMain(ctx, a, onA, func(o *chaosv1.FaultInjection) {
			o.Spec.Targets[0].PodUID = "11111111-2222-3333-4444-555555555555"
		}), "only the Temblor manager may change a FaultInjection's spec",
			"user "+agentUser+" (token bound to node node-a) may not change it for node node-a")
		expectDenied(patchMain(ctx, a, onA, func(o *chaosv1.FaultInjection) {
			o.Labels[chaosv1.LabelFault] = "other"
		}), "may change a FaultInjection's labels, add finalizers or add owner references")
		expectDenied(patchMain(ctx, a, onA, func(o *chaosv1.FaultInjection) {
			o.Finalizers = append(o.Finalizers, "example.com/keep")
		}), "add finalizers")
		expectDenied(patchMain(ctx, a, onA, func(o *chaosv1.FaultInjection) {
			o.Annotations = map[string]string{"note": "x"}
		}), "a Temblor agent may only remove finalizers")
		expectDenied(patchMain(ctx, a, onA, func(o *chaosv1.FaultInjection) {
			o.OwnerReferences = append(o.OwnerReferences, metav1.OwnerReference{
				APIVersion: chaosv1.GroupVersion.String(), Kind: "Fault", Name: "other", UID: "0b7f4c1e-0000-4a39-9d3e-2a1f5d0c9e11",
			})
		}), "add owner references")
	})

	It("refuses an agent identity whose token is bound to no node", func(ctx context.Context) {
		a := as(agentUser, saGroups, "")
		expectDenied(patchStatus(ctx, a, onA, chaosv1.InjectionRemoved),
			"only the Temblor agent of node node-a", "user "+agentUser+" (token bound to no node) may not")
		expectDenied(patchMain(ctx, a, onA, func(o *chaosv1.FaultInjection) {
			controllerutil.RemoveFinalizer(o, chaosv1.Finalizer)
		}), "a Temblor agent may change only its own node's FaultInjections", "(token bound to no node)")
	})

	It("refuses look-alike identities bound to the right node", func(ctx context.Context) {
		grantInNamespace(ctx, ns, "alice", "get", "patch")
		grantInNamespace(ctx, ns, "system:serviceaccount:"+ns+":temblor-agent", "get", "patch")
		for _, c := range []struct{ user string }{
			{"alice"}, // a user with a forged node extra
			{"system:serviceaccount:" + ns + ":temblor-agent"}, // same SA name, other namespace
		} {
			err := patchStatus(ctx, as(c.user, []string{"system:authenticated"}, "node-a"), onA, chaosv1.InjectionRemoved)
			expectDenied(err, "only the Temblor agent of node node-a", "user "+c.user+" (token bound to node node-a)")
		}
	})

	It("refuses a delete by the agent even when RBAC grants it", func(ctx context.Context) {
		Expect(agentOn("node-a").Delete(ctx, onA)).To(MatchError(ContainSubstring("forbidden")))
		grantInNamespace(ctx, ns, agentUser, "delete")
		expectDenied(agentOn("node-a").Delete(ctx, onA),
			"a Temblor agent never deletes FaultInjections", "may not delete one for node node-a")
	})
})
