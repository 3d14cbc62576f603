package admission_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// agentMay asks the API server's authorizer whether the agent's
// ServiceAccount may use verb on resource (and subresource) in namespace
// "default".
func agentMay(ctx context.Context, verb, resource, sub string) bool {
	GinkgoHelper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   agentUser,
		Groups: saGroups,
		Extra:  map[string]authorizationv1.ExtraValue{nodeNameExtra: {"node-a"}},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: "default", Verb: verb, Group: chaosv1.GroupVersion.Group,
			Resource: resource, Subresource: sub,
		},
	}}
	Expect(admin.Create(ctx, sar)).To(Succeed())
	return sar.Status.Allowed
}

var _ = Describe("The agent's ClusterRole", func() {
	DescribeTable("grants what the agent uses",
		func(ctx context.Context, verb, resource, sub string) {
			Expect(agentMay(ctx, verb, resource, sub)).To(BeTrue(), "%s %s/%s", verb, resource, sub)
		},
		Entry(nil, "get", "faultinjections", ""),
		Entry(nil, "list", "faultinjections", ""),
		Entry(nil, "watch", "faultinjections", ""),
		Entry(nil, "patch", "faultinjections", ""), // finalizer removal
		Entry(nil, "patch", "faultinjections", "status"),
	)
	DescribeTable("grants nothing it does not use",
		func(ctx context.Context, verb, resource, sub string) {
			Expect(agentMay(ctx, verb, resource, sub)).To(BeFalse(), "%s %s/%s", verb, resource, sub)
		},
		Entry(nil, "create", "faultinjections", ""),
		Entry(nil, "delete", "faultinjections", ""),
		Entry(nil, "deletecollection", "faultinjections", ""),
		Entry(nil, "update", "faultinjections", ""),
		Entry(nil, "update", "faultinjections", "status"),
		Entry(nil, "update", "faultinjections", "finalizers"),
		Entry(nil, "create", "faults", ""),
		Entry(nil, "update", "faults", ""),
		Entry(nil, "patch", "faults", "status"),
	)
})
