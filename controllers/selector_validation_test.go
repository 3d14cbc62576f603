package controllers_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const net = "network: {type: Drop}\n"

// selectorSpec is a network fault around a selector written in YAML.
func selectorSpec(selector string) string { return "selector: " + selector + "\n" + dur + net }

var _ = Describe("Selector validation by the real API server", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("accepts valid label keys, values and requirements", func(ctx SpecContext) {
		long := strings.Repeat("a", 63)
		prefix := strings.Repeat("p", 63) + "." + strings.Repeat("q", 63) + "." + strings.Repeat("r", 63) + "." + strings.Repeat("s", 61)
		for _, s := range []string{
			"{matchLabels: {app: web, example.com/tier: '', app.kubernetes.io/name: my_app.v-1}}",
			"{matchLabels: {" + long + ": " + long + "}}",
			"{matchLabels: {" + prefix + "/" + long + ": x}}",
			"{matchExpressions: [{key: app, operator: In, values: [web, '']}, {key: example.com/x, operator: Exists}, {key: 'y', operator: DoesNotExist, values: []}, {key: z, operator: NotIn, values: [a]}]}",
		} {
			Expect(k8sClient.Create(ctx, faultFromSpec(ns, selectorSpec(s)))).To(Succeed(), s)
		}
	})

	DescribeTable("rejects a selector the manager could not act on, with a message naming the field",
		func(ctx SpecContext, specYAML string, wantField, wantMessage string) {
			err := k8sClient.Create(ctx, faultFromSpec(ns, specYAML))
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(wantField))
			Expect(err.Error()).To(ContainSubstring(wantMessage))
			GinkgoWriter.Println("API server:", err.Error())
		},
		Entry("label key with a space", selectorSpec("{matchLabels: {'my app': web}}"), "spec.selector.matchLabels", "label keys must be"),
		Entry("label key starting with a dash", selectorSpec("{matchLabels: {-app: web}}"), "spec.selector.matchLabels", "label keys must be"),
		Entry("label key ending with a dot", selectorSpec("{matchLabels: {app.: web}}"), "spec.selector.matchLabels", "label keys must be"),
		Entry("empty label key", selectorSpec("{matchLabels: {'': web}}"), "spec.selector.matchLabels", "label keys must be"),
		Entry("label key with two slashes", selectorSpec("{matchLabels: {a/b/c: web}}"), "spec.selector.matchLabels", "label keys must be"),
		Entry("label key prefix with upper case", selectorSpec("{matchLabels: {Example.com/app: web}}"), "spec.selector.matchLabels", "label keys must be"),
		Entry("label key name of 64 characters", selectorSpec("{matchLabels: {"+strings.Repeat("a", 64)+": web}}"), "spec.selector.matchLabels", "label key names must be at most 63 characters and prefixes at most 253"),
		Entry("label key prefix of 254 characters", selectorSpec("{matchLabels: {"+strings.Repeat("p", 63)+"."+strings.Repeat("q", 63)+"."+strings.Repeat("r", 63)+"."+strings.Repeat("s", 62)+"/a: web}}"), "spec.selector.matchLabels", "label key names must be at most 63 characters and prefixes at most 253"),
		Entry("label value with a slash", selectorSpec("{matchLabels: {app: a/b}}"), "spec.selector.matchLabels", "label values must be"),
		Entry("label value of 64 characters", selectorSpec("{matchLabels: {app: "+strings.Repeat("v", 64)+"}}"), "spec.selector.matchLabels.app", "may not be more than 63"),
		Entry("label value ending with a dash", selectorSpec("{matchLabels: {app: web-}}"), "spec.selector.matchLabels", "label values must be"),
		Entry("too many labels", selectorSpec("{matchLabels: {"+manyLabels(33)+"}}"), "spec.selector.matchLabels", "must have at most 32 items"),
		Entry("unknown operator", selectorSpec("{matchExpressions: [{key: app, operator: Equals, values: [web]}]}"), "spec.selector.matchExpressions[0].operator", "Unsupported value"),
		Entry("In without values", selectorSpec("{matchExpressions: [{key: app, operator: In}]}"), "spec.selector.matchExpressions[0]", "values must be non-empty when operator is In or NotIn"),
		Entry("NotIn with empty values", selectorSpec("{matchExpressions: [{key: app, operator: NotIn, values: []}]}"), "spec.selector.matchExpressions[0]", "values must be non-empty when operator is In or NotIn"),
		Entry("Exists with values", selectorSpec("{matchExpressions: [{key: app, operator: Exists, values: [web]}]}"), "spec.selector.matchExpressions[0]", "values must be empty when operator is Exists or DoesNotExist"),
		Entry("DoesNotExist with values", selectorSpec("{matchExpressions: [{key: app, operator: DoesNotExist, values: [web]}]}"), "spec.selector.matchExpressions[0]", "values must be empty when operator is Exists or DoesNotExist"),
		Entry("expression with a bad key", selectorSpec("{matchExpressions: [{key: 'a b', operator: Exists}]}"), "spec.selector.matchExpressions[0].key", "label keys must be"),
		Entry("expression key name of 64 characters", selectorSpec("{matchExpressions: [{key: x/"+strings.Repeat("a", 64)+", operator: Exists}]}"), "spec.selector.matchExpressions[0].key", "label key names must be at most 63 characters"),
		Entry("expression without key", selectorSpec("{matchExpressions: [{operator: Exists}]}"), "spec.selector.matchExpressions[0].key", "Required value"),
		Entry("expression with a bad value", selectorSpec("{matchExpressions: [{key: app, operator: In, values: ['a b']}]}"), "spec.selector.matchExpressions[0].values", "label values must be"),
		Entry("empty matchLabels", selectorSpec("{matchLabels: {}}"), "spec.selector.matchLabels", "should have at least 1 properties"),
		Entry("empty matchExpressions", selectorSpec("{matchExpressions: []}"), "spec.selector.matchExpressions", "should have at least 1 items"),
		Entry("empty podNames", selectorSpec("{podNames: []}"), "spec.selector.podNames", "should have at least 1 items"),
		Entry("all three empty", selectorSpec("{matchLabels: {}, matchExpressions: [], podNames: []}"), "spec.selector", "selector must name pods"),
		Entry("empty containerNames with podNames", "selector: {podNames: [web-0], containerNames: []}\n"+dur+"syscall: {syscalls: [read], errno: EIO}", "spec.selector.containerNames", "should have at least 1 items"),
		Entry("count above 10000", sel+dur+"mode: Fixed\ncount: 10001\n"+net, "spec.count", "should be less than or equal to 10000"),
	)
})

// manyLabels renders n distinct label pairs for a YAML flow map.
func manyLabels(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "k" + strings.Repeat("x", i) + ": v"
	}
	return strings.Join(parts, ", ")
}
