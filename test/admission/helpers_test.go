package admission_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

const (
	// The ServiceAccounts config/ creates, as the API server names them.
	managerUser = "system:serviceaccount:temblor-system:temblor-manager"
	agentUser   = "system:serviceaccount:temblor-system:temblor-agent"
	// nodeNameExtra is where the API server puts the node a pod-bound
	// ServiceAccount token is bound to.
	nodeNameExtra = "authentication.kubernetes.io/node-name"
	// denied is how the API server starts a policy's refusal.
	denied = "ValidatingAdmissionPolicy 'temblor-faultinjection-writers' with binding 'temblor-faultinjection-writers' denied request"
)

// saGroups are the groups the API server gives a temblor-system
// ServiceAccount.
var saGroups = []string{"system:serviceaccounts", "system:serviceaccounts:temblor-system", "system:authenticated"}

// as returns a client that impersonates user with groups, and with the node
// its token is bound to when node is not empty.
func as(user string, groups []string, node string) client.Client {
	GinkgoHelper()
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	if node != "" {
		c.Impersonate.Extra = map[string][]string{nodeNameExtra: {node}}
	}
	cl, err := client.New(c, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return cl
}

// manager is the manager's ServiceAccount (its pod runs on node-m).
func manager() client.Client { return as(managerUser, saGroups, "node-m") }

// agentOn is the agent's ServiceAccount with a token bound to node.
func agentOn(node string) client.Client { return as(agentUser, saGroups, node) }

// newNamespace creates a namespace for one spec.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := fmt.Sprintf("adm-%d", rand.Uint32())
	Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	return ns
}

// injection is the FaultInjection the manager writes for fault on node.
func injection(ns, fault, node string) *chaosv1.FaultInjection {
	return &chaosv1.FaultInjection{
		ObjectMeta: metav1.ObjectMeta{
			Name: chaosv1.FaultInjectionName(fault, node), Namespace: ns,
			Labels:     map[string]string{chaosv1.LabelNode: chaosv1.LabelValue(node), chaosv1.LabelFault: fault},
			Finalizers: []string{chaosv1.Finalizer},
		},
		Spec: chaosv1.FaultInjectionSpec{
			FaultName: fault, NodeName: node,
			Targets:  []chaosv1.InjectionTarget{{PodUID: "0b7f4c1e-6f0c-4a39-9d3e-2a1f5d0c9e11", Namespace: ns, Name: "web-0"}},
			Deadline: metav1.NewMicroTime(time.Now().Add(time.Hour)),
			FaultAction: chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{
				Syscalls: []chaosv1.SyscallName{"openat"}, Errno: "EIO",
			}},
		},
	}
}

// createAsManager creates the manager's FaultInjection for fault on node.
func createAsManager(ctx context.Context, ns, fault, node string) *chaosv1.FaultInjection {
	GinkgoHelper()
	fi := injection(ns, fault, node)
	Expect(manager().Create(ctx, fi)).To(Succeed())
	return fi
}

// fresh reads fi again as the admin.
func fresh(ctx context.Context, fi *chaosv1.FaultInjection) *chaosv1.FaultInjection {
	GinkgoHelper()
	out := &chaosv1.FaultInjection{}
	Expect(admin.Get(ctx, client.ObjectKeyFromObject(fi), out)).To(Succeed())
	return out
}

// patchStatus sets the status phase as c would.
func patchStatus(ctx context.Context, c client.Client, fi *chaosv1.FaultInjection, phase chaosv1.InjectionPhase) error {
	cur := fresh(ctx, fi)
	base := cur.DeepCopy()
	cur.Status.Phase = phase
	return c.Status().Patch(ctx, cur, client.MergeFrom(base))
}

// patchMain changes the main resource as c would, with mutate.
func patchMain(ctx context.Context, c client.Client, fi *chaosv1.FaultInjection, mutate func(*chaosv1.FaultInjection)) error {
	cur := fresh(ctx, fi)
	base := cur.DeepCopy()
	mutate(cur)
	return c.Patch(ctx, cur, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// expectDenied asserts err is the policy's refusal and that its message
// holds every part.
func expectDenied(err error, parts ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(err.Error()).To(ContainSubstring(denied))
	for _, p := range parts {
		Expect(err.Error()).To(ContainSubstring(p))
	}
}

// grantInNamespace binds user to a Role in ns with verbs on
// FaultInjections and their status.
func grantInNamespace(ctx context.Context, ns, user string, verbs ...string) {
	GinkgoHelper()
	name := fmt.Sprintf("fi-writer-%d", rand.Uint32())
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{chaosv1.GroupVersion.Group},
			Resources: []string{"faultinjections", "faultinjections/status"},
			Verbs:     verbs,
		}},
	}
	Expect(admin.Create(ctx, role)).To(Succeed())
	Expect(admin.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	})).To(Succeed())
}

// waitPolicyEnforced waits until the API server enforces the policy, which
// takes a moment after it is created: a dry-run create by a user with RBAC
// rights is refused.
func waitPolicyEnforced(ctx context.Context) {
	GinkgoHelper()
	ns := newNamespace(ctx)
	grantInNamespace(ctx, ns, "probe", "create")
	probe := as("probe", []string{"system:authenticated"}, "")
	Eventually(func() error {
		return probe.Create(ctx, injection(ns, "probe", "node-a"), client.DryRunAll)
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(
		MatchError(And(ContainSubstring(denied), ContainSubstring("may create FaultInjections"))), "the admission policy is not enforced")
}
