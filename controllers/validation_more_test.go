package controllers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// More manifests the CRDs must refuse, each with a substring of the API
// server's message: every field's bounds and enums, the CEL rules, odd YAML
// types (a string for an integer, floats, overflow, null), the status
// subresource, FaultInjections, and updates after a Fault has started.

const (
	dropNet = "network: {type: Drop}\n"
	tcpDrop = "network: {type: Drop, protocol: TCP, "
)

// repeatList repeats item count times, comma separated, for list bounds.
func repeatList(item string, count int) string {
	items := make([]string, count)
	for i := range items {
		items[i] = strings.ReplaceAll(item, "%d", fmt.Sprint(i+1))
	}
	return strings.Join(items, ", ")
}

// corruptYAML is a Corrupt network action with the given extra fields.
func corruptYAML(fields string) string { return sel + dur + "network: {type: Corrupt, " + fields + "}" }

// syscallYAML is a syscall action with the given fields.
func syscallYAML(fields string) string { return sel + dur + "syscall: {" + fields + "}" }

// expectInvalid asserts a 422 Invalid naming field and message.
func expectInvalid(err error, wantField, wantMessage string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
	Expect(err.Error()).To(ContainSubstring(wantField))
	Expect(err.Error()).To(ContainSubstring(wantMessage))
	GinkgoWriter.Println("API server:", err.Error())
}

// rawObject builds an unstructured object of kind from a YAML document
// holding everything but apiVersion, kind and metadata.
func rawObject(ns, kind, bodyYAML string) *unstructured.Unstructured {
	GinkgoHelper()
	var body map[string]any
	Expect(yaml.Unmarshal([]byte(bodyYAML), &body)).To(Succeed())
	if body == nil {
		body = map[string]any{}
	}
	body["apiVersion"] = "chaos.temblor.dev/v1alpha1"
	body["kind"] = kind
	body["metadata"] = map[string]any{"name": fmt.Sprintf("invalid-more-%d", invalidCounter.Add(1)), "namespace": ns}
	return &unstructured.Unstructured{Object: body}
}

// injectionSpec is a valid FaultInjection spec with replacements applied:
// each pair of old and new strings.
func injectionSpec(replace ...string) string {
	spec := "spec:\n" +
		"  faultName: f\n" +
		"  nodeName: node-1\n" +
		"  targets: [{podUID: 3c7a1e2f-8d4b-4c6a-9e0f-1a2b3c4d5e6f, namespace: default, name: web-0}]\n" +
		"  deadline: '2030-01-02T03:04:05.000006Z'\n" +
		"  network: {type: Drop}\n"
	for i := 0; i+1 < len(replace); i += 2 {
		Expect(spec).To(ContainSubstring(replace[i]), "injectionSpec replacement")
		spec = strings.Replace(spec, replace[i], replace[i+1], 1)
	}
	return spec
}

// updateUntilAnswered retries fn while the API server answers Conflict (the
// manager writes the same objects) and returns the first other answer.
func updateUntilAnswered(fn func() error) error {
	GinkgoHelper()
	var err error
	Eventually(func() bool {
		err = fn()
		return !apierrors.IsConflict(err)
	}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(BeTrue())
	return err
}

// refetch reads obj again from the API server.
func refetch(ctx SpecContext, obj *unstructured.Unstructured) *unstructured.Unstructured {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(obj.GroupVersionKind())
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), u)).To(Succeed())
	return u
}

// updateStatusYAML writes status through the status subresource.
func updateStatusYAML(ctx SpecContext, obj *unstructured.Unstructured, statusYAML string) error {
	GinkgoHelper()
	var status map[string]any
	Expect(yaml.Unmarshal([]byte(statusYAML), &status)).To(Succeed())
	return updateUntilAnswered(func() error {
		u := refetch(ctx, obj)
		u.Object["status"] = status
		return k8sClient.Status().Update(ctx, u)
	})
}

// updateSpecYAML replaces spec with the YAML given.
func updateSpecYAML(ctx SpecContext, obj *unstructured.Unstructured, specYAML string) error {
	GinkgoHelper()
	var spec map[string]any
	Expect(yaml.Unmarshal([]byte(specYAML), &spec)).To(Succeed())
	return updateUntilAnswered(func() error {
		u := refetch(ctx, obj)
		u.Object["spec"] = spec
		return k8sClient.Update(ctx, u)
	})
}

var _ = Describe("More Fault validation by the real API server", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	DescribeTable("rejects an invalid Fault spec",
		func(ctx SpecContext, specYAML string, wantField, wantMessage string) {
			expectInvalid(k8sClient.Create(ctx, faultFromSpec(ns, specYAML)), wantField, wantMessage)
		},
		// duration
		Entry("duration 0s", sel+"duration: 0s\n"+dropNet, "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration 999ms", sel+"duration: 999ms\n"+dropNet, "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration 1ns", sel+"duration: 1ns\n"+dropNet, "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration 24h0m1s", sel+"duration: 24h0m1s\n"+dropNet, "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration 1440m1s", sel+"duration: 1440m1s\n"+dropNet, "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration 86401s", sel+"duration: 86401s\n"+dropNet, "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration summing above 24h", sel+"duration: 12h12h1s\n"+dropNet, "spec.duration", "duration must be between 1s and 24h"),
		Entry("negative duration", sel+"duration: -1s\n"+dropNet, "spec.duration", "should match"),
		Entry("duration in days", sel+"duration: 1d\n"+dropNet, "spec.duration", "should match"),
		Entry("duration without a unit", sel+"duration: '30'\n"+dropNet, "spec.duration", "should match"),
		Entry("duration with a space", sel+"duration: 1 s\n"+dropNet, "spec.duration", "should match"),
		Entry("empty duration", sel+"duration: ''\n"+dropNet, "spec.duration", "should match"),
		Entry("duration with two dots", sel+"duration: 1.5.5s\n"+dropNet, "spec.duration", "should match"),
		Entry("duration in ISO 8601", sel+"duration: PT30S\n"+dropNet, "spec.duration", "should match"),
		Entry("duration longer than 32 characters", sel+"duration: "+strings.Repeat("1s", 17)+"\n"+dropNet, "spec.duration", "may not be more than 32"),
		Entry("duration as an integer", sel+"duration: 30\n"+dropNet, "spec.duration", "must be of type string"),
		Entry("duration null", sel+"duration: null\n"+dropNet, "spec.duration", "Required value"),
		Entry("duration as a list", sel+"duration: [30s]\n"+dropNet, "spec.duration", "must be of type string"),
		// mode, count, percent
		Entry("mode in lowercase", sel+dur+"mode: all\n"+dropNet, "spec.mode", "Unsupported value"),
		Entry("empty mode", sel+dur+"mode: ''\n"+dropNet, "spec.mode", "Unsupported value"),
		Entry("mode as an integer", sel+dur+"mode: 1\n"+dropNet, "spec.mode", "must be of type string"),
		Entry("mode Random", sel+dur+"mode: Random\n"+dropNet, "spec.mode", "Unsupported value"),
		Entry("count 0", sel+dur+"mode: Fixed\ncount: 0\n"+dropNet, "spec.count", "should be greater than or equal to 1"),
		Entry("negative count", sel+dur+"mode: Fixed\ncount: -1\n"+dropNet, "spec.count", "should be greater than or equal to 1"),
		Entry("count above 100000", sel+dur+"mode: Fixed\ncount: 100001\n"+dropNet, "spec.count", "should be less than or equal to 10000"),
		Entry("count beyond int64", sel+dur+"mode: Fixed\ncount: 99999999999999999999\n"+dropNet, "spec.count", "must be of type integer"),
		Entry("count beyond int32", sel+dur+"mode: Fixed\ncount: 4294967296\n"+dropNet, "spec.count", "should be less than or equal to 10000"),
		Entry("count as a string", sel+dur+"mode: Fixed\ncount: '3'\n"+dropNet, "spec.count", "must be of type integer"),
		Entry("count as a float", sel+dur+"mode: Fixed\ncount: 1.5\n"+dropNet, "spec.count", "must be of type integer"),
		Entry("count null with Fixed", sel+dur+"mode: Fixed\ncount: null\n"+dropNet, "spec", "count is required when mode is Fixed"),
		Entry("count with mode One", sel+dur+"mode: One\ncount: 1\n"+dropNet, "spec", "count is only valid when mode is Fixed"),
		Entry("count with mode Percent", sel+dur+"mode: Percent\npercent: 10\ncount: 1\n"+dropNet, "spec", "count is only valid when mode is Fixed"),
		Entry("percent with mode All", sel+dur+"mode: All\npercent: 10\n"+dropNet, "spec", "percent is only valid when mode is Percent"),
		Entry("percent with mode Fixed", sel+dur+"mode: Fixed\ncount: 1\npercent: 10\n"+dropNet, "spec", "percent is only valid when mode is Percent"),
		Entry("percent without mode", sel+dur+"percent: 10\n"+dropNet, "spec", "percent is only valid when mode is Percent"),
		Entry("negative percent", sel+dur+"mode: Percent\npercent: -10\n"+dropNet, "spec.percent", "should be greater than or equal to 1"),
		Entry("percent 1000", sel+dur+"mode: Percent\npercent: 1000\n"+dropNet, "spec.percent", "should be less than or equal to 100"),
		Entry("percent as a string", sel+dur+"mode: Percent\npercent: '50'\n"+dropNet, "spec.percent", "must be of type integer"),
		Entry("percent as a float", sel+dur+"mode: Percent\npercent: 50.5\n"+dropNet, "spec.percent", "must be of type integer"),
		Entry("percent with a percent sign", sel+dur+"mode: Percent\npercent: 50%\n"+dropNet, "spec.percent", "must be of type integer"),
		Entry("Percent with percent null", sel+dur+"mode: Percent\npercent: null\n"+dropNet, "spec", "percent is required when mode is Percent"),
		// dryRun
		Entry("dryRun as a string", sel+dur+"dryRun: 'yes'\n"+dropNet, "spec.dryRun", "must be of type boolean"),
		Entry("dryRun as an integer", sel+dur+"dryRun: 1\n"+dropNet, "spec.dryRun", "must be of type boolean"),
		// selector (bounds and shape; label-selector syntax is covered elsewhere)
		Entry("selector as a string", "selector: app=web\n"+dur+dropNet, "spec.selector", "must be of type object"),
		Entry("selector null", "selector: null\n"+dur+dropNet, "spec.selector", "Required value"),
		Entry("selector with only containerNames", "selector: {containerNames: [app]}\n"+dur+"syscall: {syscalls: [read], errno: EIO}", "spec.selector", "selector must name pods"),
		Entry("more than 32 matchLabels", "selector: {matchLabels: {"+repeatList("k%d: v", 33)+"}}\n"+dur+dropNet, "spec.selector.matchLabels", "must have at most 32 items"),
		Entry("more than 16 matchExpressions", "selector: {matchExpressions: ["+repeatList("{key: k%d, operator: Exists}", 17)+"]}\n"+dur+dropNet, "spec.selector.matchExpressions", "must have at most 16 items"),
		Entry("more than 256 podNames", "selector: {podNames: ["+repeatList("p%d", 257)+"]}\n"+dur+dropNet, "spec.selector.podNames", "must have at most 256 items"),
		Entry("pod name longer than 253", "selector: {podNames: ["+strings.Repeat("a", 254)+"]}\n"+dur+dropNet, "spec.selector.podNames[0]", "may not be more than 253"),
		Entry("duplicate podNames", "selector: {podNames: [web-0, web-0]}\n"+dur+dropNet, "spec.selector.podNames[1]", "Duplicate value"),
		Entry("podNames as a string", "selector: {podNames: web-0}\n"+dur+dropNet, "spec.selector.podNames", "must be of type array"),
		Entry("pod name as an integer", "selector: {podNames: [7]}\n"+dur+dropNet, "spec.selector.podNames[0]", "must be of type string"),
		Entry("more than 16 containerNames", "selector: {matchLabels: {app: web}, containerNames: ["+repeatList("c%d", 17)+"]}\n"+dur+"syscall: {syscalls: [read], errno: EIO}", "spec.selector.containerNames", "must have at most 16 items"),
		Entry("container name longer than 63", "selector: {matchLabels: {app: web}, containerNames: ["+strings.Repeat("c", 64)+"]}\n"+dur+"syscall: {syscalls: [read], errno: EIO}", "spec.selector.containerNames[0]", "may not be more than 63"),
		Entry("duplicate containerNames", "selector: {matchLabels: {app: web}, containerNames: [app, app]}\n"+dur+"syscall: {syscalls: [read], errno: EIO}", "spec.selector.containerNames[1]", "Duplicate value"),
		Entry("matchLabels as a list", "selector: {matchLabels: [app]}\n"+dur+dropNet, "spec.selector.matchLabels", "must be of type object"),
		// actions
		Entry("network and syscall null", sel+dur+"network: null\nsyscall: null", "spec", "exactly one action must be set"),
		Entry("empty network", sel+dur+"network: {}", "spec.network.type", "Required value"),
		Entry("network as a string", sel+dur+"network: Drop", "spec.network", "must be of type object"),
		Entry("network as a list", sel+dur+"network: [{type: Drop}]", "spec.network", "must be of type object"),
		Entry("empty syscall", sel+dur+"syscall: {}", "spec.syscall.syscalls", "Required value"),
		Entry("syscall as a string", sel+dur+"syscall: read", "spec.syscall", "must be of type object"),
		Entry("valid network with empty syscall", sel+dur+"network: {type: Drop}\nsyscall: {syscalls: [read], errno: EIO}", "spec", "exactly one action must be set"),
		// network type, direction, probability
		Entry("type in lowercase", sel+dur+"network: {type: drop}", "spec.network.type", "Unsupported value"),
		Entry("type Delay", sel+dur+"network: {type: Delay}", "spec.network.type", "Unsupported value"),
		Entry("empty type", sel+dur+"network: {type: ''}", "spec.network.type", "Unsupported value"),
		Entry("type as an integer", sel+dur+"network: {type: 1}", "spec.network.type", "must be of type string"),
		Entry("type null", sel+dur+"network: {type: null}", "spec.network.type", "Required value"),
		Entry("direction in lowercase", sel+dur+"network: {type: Drop, direction: ingress}", "spec.network.direction", "Unsupported value"),
		Entry("empty direction", sel+dur+"network: {type: Drop, direction: ''}", "spec.network.direction", "Unsupported value"),
		Entry("direction In", sel+dur+"network: {type: Drop, direction: In}", "spec.network.direction", "Unsupported value"),
		Entry("probability as a number", sel+dur+"network: {type: Drop, probability: 50}", "spec.network.probability", "must be of type string"),
		Entry("probability as a float", sel+dur+"network: {type: Drop, probability: 0.5}", "spec.network.probability", "must be of type string"),
		Entry("empty probability", sel+dur+"network: {type: Drop, probability: ''}", "spec.network.probability", "should match"),
		Entry("probability 100.01", sel+dur+"network: {type: Drop, probability: '100.01'}", "spec.network.probability", "should match"),
		Entry("probability 101", sel+dur+"network: {type: Drop, probability: '101'}", "spec.network.probability", "should match"),
		Entry("probability 1000", sel+dur+"network: {type: Drop, probability: '1000'}", "spec.network.probability", "should match"),
		Entry("probability with a trailing dot", sel+dur+"network: {type: Drop, probability: '5.'}", "spec.network.probability", "should match"),
		Entry("probability with a leading dot", sel+dur+"network: {type: Drop, probability: '.5'}", "spec.network.probability", "should match"),
		Entry("probability with leading zeros", sel+dur+"network: {type: Drop, probability: '007'}", "spec.network.probability", "should match"),
		Entry("probability with a percent sign", sel+dur+"network: {type: Drop, probability: '50%'}", "spec.network.probability", "should match"),
		Entry("probability in exponent form", sel+dur+"network: {type: Drop, probability: '1e2'}", "spec.network.probability", "should match"),
		Entry("probability in hex", sel+dur+"network: {type: Drop, probability: '0x10'}", "spec.network.probability", "should match"),
		Entry("probability with a space", sel+dur+"network: {type: Drop, probability: ' 5'}", "spec.network.probability", "should match"),
		Entry("probability with a comma", sel+dur+"network: {type: Drop, probability: '0,5'}", "spec.network.probability", "should match"),
		Entry("probability +5", sel+dur+"network: {type: Drop, probability: '+5'}", "spec.network.probability", "should match"),
		Entry("probability 100.000", sel+dur+"network: {type: Drop, probability: '100.000'}", "spec.network.probability", "may not be more than 6"),
		Entry("probability NaN", sel+dur+"network: {type: Drop, probability: NaN}", "spec.network.probability", "should match"),
		// interface
		Entry("interface with a space", sel+dur+"network: {type: Drop, interface: 'eth 0'}", "spec.network.interface", "should match"),
		Entry("interface with a slash", sel+dur+"network: {type: Drop, interface: eth0/1}", "spec.network.interface", "should match"),
		Entry("interface with a colon", sel+dur+"network: {type: Drop, interface: 'eth0:1'}", "spec.network.interface", "should match"),
		Entry("empty interface", sel+dur+"network: {type: Drop, interface: ''}", "spec.network.interface", "should match"),
		Entry("interface of 16 characters", sel+dur+"network: {type: Drop, interface: abcdefghijklmnop}", "spec.network.interface", "may not be more than 15"),
		Entry("interface not ASCII", sel+dur+"network: {type: Drop, interface: 'ethé'}", "spec.network.interface", "should match"),
		Entry("interface with a semicolon", sel+dur+"network: {type: Drop, interface: 'eth0;reboot'}", "spec.network.interface", "should match"),
		Entry("interface as an integer", sel+dur+"network: {type: Drop, interface: 0}", "spec.network.interface", "must be of type string"),
		// protocol and ports
		Entry("protocol in lowercase", sel+dur+"network: {type: Drop, protocol: tcp}", "spec.network.protocol", "Unsupported value"),
		Entry("empty protocol", sel+dur+"network: {type: Drop, protocol: ''}", "spec.network.protocol", "Unsupported value"),
		Entry("protocol ICMPv6", sel+dur+"network: {type: Drop, protocol: ICMPv6}", "spec.network.protocol", "Unsupported value"),
		Entry("protocol as a number", sel+dur+"network: {type: Drop, protocol: 6}", "spec.network.protocol", "must be of type string"),
		Entry("negative port", sel+dur+tcpDrop+"ports: [{from: -1}]}", "spec.network.ports[0].from", "should be greater than or equal to 1"),
		Entry("port 65536", sel+dur+tcpDrop+"ports: [{from: 65536}]}", "spec.network.ports[0].from", "should be less than or equal to 65535"),
		Entry("port beyond int32", sel+dur+tcpDrop+"ports: [{from: 4294967377}]}", "spec.network.ports[0].from", "should be less than or equal to 65535"),
		Entry("port as a string", sel+dur+tcpDrop+"ports: [{from: '80'}]}", "spec.network.ports[0].from", "must be of type integer"),
		Entry("port as a float", sel+dur+tcpDrop+"ports: [{from: 80.5}]}", "spec.network.ports[0].from", "must be of type integer"),
		Entry("port range without from", sel+dur+tcpDrop+"ports: [{to: 80}]}", "spec.network.ports[0].from", "Required value"),
		Entry("port range end 0", sel+dur+tcpDrop+"ports: [{from: 1, to: 0}]}", "spec.network.ports[0].to", "should be greater than or equal to 1"),
		Entry("port range end 65536", sel+dur+tcpDrop+"ports: [{from: 1, to: 65536}]}", "spec.network.ports[0].to", "should be less than or equal to 65535"),
		Entry("destination range reversed", sel+dur+tcpDrop+"destinationPorts: [{from: 443, to: 80}]}", "spec.network.destinationPorts[0]", "port range end (to) must not be below its start (from)"),
		Entry("second range reversed", sel+dur+tcpDrop+"ports: [{from: 1}, {from: 3, to: 2}]}", "spec.network.ports[1]", "port range end (to) must not be below its start (from)"),
		Entry("ports as a number", sel+dur+tcpDrop+"ports: 80}", "spec.network.ports", "must be of type array"),
		Entry("port range as a number", sel+dur+tcpDrop+"ports: [80]}", "spec.network.ports[0]", "must be of type object"),
		Entry("more than 8 source port ranges", sel+dur+tcpDrop+"sourcePorts: ["+repeatList("{from: %d}", 9)+"]}", "spec.network.sourcePorts", "must have at most 8 items"),
		Entry("more than 8 destination port ranges", sel+dur+tcpDrop+"destinationPorts: ["+repeatList("{from: %d}", 9)+"]}", "spec.network.destinationPorts", "must have at most 8 items"),
		Entry("source ports without protocol", sel+dur+"network: {type: Drop, sourcePorts: [{from: 80}]}", "spec.network", "port filters need protocol TCP or UDP"),
		Entry("destination ports with ICMP", sel+dur+"network: {type: Drop, protocol: ICMP, destinationPorts: [{from: 80}]}", "spec.network", "port filters need protocol TCP or UDP"),
		// peer CIDRs
		Entry("peer address without a prefix", sel+dur+"network: {type: Drop, peerCIDRs: [10.0.0.1]}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("negative prefix length", sel+dur+"network: {type: Drop, peerCIDRs: [10.0.0.0/-1]}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("IPv6 prefix above 128", sel+dur+"network: {type: Drop, peerCIDRs: ['fd00::/129']}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("IPv4-mapped IPv6 prefix", sel+dur+"network: {type: Drop, peerCIDRs: ['::ffff:10.0.0.0/104']}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("IPv6 prefix with a zone", sel+dur+"network: {type: Drop, peerCIDRs: ['fe80::1%eth0/64']}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("IPv4 octet above 255", sel+dur+"network: {type: Drop, peerCIDRs: [300.0.0.0/8]}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("IPv4 with leading zeros", sel+dur+"network: {type: Drop, peerCIDRs: [010.0.0.0/8]}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("CIDR with a trailing space", sel+dur+"network: {type: Drop, peerCIDRs: ['10.0.0.0/8 ']}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("empty CIDR", sel+dur+"network: {type: Drop, peerCIDRs: ['']}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("CIDR range with a dash", sel+dur+"network: {type: Drop, peerCIDRs: [10.0.0.1-10.0.0.9]}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("more than 32 peer CIDRs", sel+dur+"network: {type: Drop, peerCIDRs: ["+repeatList("10.0.%d.0/24", 33)+"]}", "spec.network.peerCIDRs", "must have at most 32 items"),
		Entry("peer CIDR longer than 43", sel+dur+"network: {type: Drop, peerCIDRs: ['ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128']}", "spec.network.peerCIDRs[0]", "may not be more than 43"),
		Entry("duplicate peer CIDRs", sel+dur+"network: {type: Drop, peerCIDRs: [10.0.0.0/8, 10.0.0.0/8]}", "spec.network.peerCIDRs[1]", "Duplicate value"),
		Entry("peerCIDRs as a string", sel+dur+"network: {type: Drop, peerCIDRs: 10.0.0.0/8}", "spec.network.peerCIDRs", "must be of type array"),
		// corrupt
		Entry("Corrupt with corrupt null", sel+dur+"network: {type: Corrupt, corrupt: null}", "spec.network", "corrupt is required when type is Corrupt"),
		Entry("Drop with a length corrupt", sel+dur+"network: {type: Drop, corrupt: {field: IPv4TotalLength, delta: 1}}", "spec.network", "corrupt is only valid when type is Corrupt"),
		Entry("corrupt as a string", corruptYAML("corrupt: Payload"), "spec.network.corrupt", "must be of type object"),
		Entry("corrupt without field", corruptYAML("corrupt: {bytes: 2}"), "spec.network.corrupt.field", "Required value"),
		Entry("corrupt field in lowercase", corruptYAML("corrupt: {field: payload}"), "spec.network.corrupt.field", "Unsupported value"),
		Entry("corrupt field TCPLength", corruptYAML("protocol: TCP, corrupt: {field: TCPLength, delta: 1}"), "spec.network.corrupt.field", "Unsupported value"),
		Entry("delta below -65535", corruptYAML("corrupt: {field: IPv4TotalLength, delta: -65536}"), "spec.network.corrupt.delta", "should be greater than or equal to -65535"),
		Entry("delta above 65535", corruptYAML("corrupt: {field: IPv4TotalLength, delta: 65536}"), "spec.network.corrupt.delta", "should be less than or equal to 65535"),
		Entry("delta as a string", corruptYAML("corrupt: {field: IPv4TotalLength, delta: '4'}"), "spec.network.corrupt.delta", "must be of type integer"),
		Entry("delta as a float", corruptYAML("corrupt: {field: IPv4TotalLength, delta: 0.5}"), "spec.network.corrupt.delta", "must be of type integer"),
		Entry("zero delta on the UDP length", corruptYAML("protocol: UDP, corrupt: {field: UDPLength, delta: 0}"), "spec.network.corrupt.delta", "delta must not be 0"),
		Entry("negative value", corruptYAML("corrupt: {field: IPv4TotalLength, value: -1}"), "spec.network.corrupt.value", "should be greater than or equal to 0"),
		Entry("value above 65535", corruptYAML("corrupt: {field: IPv4TotalLength, value: 65536}"), "spec.network.corrupt.value", "should be less than or equal to 65535"),
		Entry("value as a string", corruptYAML("corrupt: {field: IPv4TotalLength, value: '20'}"), "spec.network.corrupt.value", "must be of type integer"),
		Entry("bytes 0", corruptYAML("corrupt: {field: Payload, bytes: 0}"), "spec.network.corrupt.bytes", "should be greater than or equal to 1"),
		Entry("negative bytes", corruptYAML("corrupt: {field: Payload, bytes: -4}"), "spec.network.corrupt.bytes", "should be greater than or equal to 1"),
		Entry("bytes as a string", corruptYAML("corrupt: {field: Payload, bytes: '2'}"), "spec.network.corrupt.bytes", "must be of type integer"),
		Entry("bytes on a length field", corruptYAML("corrupt: {field: IPv4TotalLength, delta: 4, bytes: 2}"), "spec.network.corrupt", "bytes applies only to field Payload"),
		Entry("payload with value", corruptYAML("corrupt: {field: Payload, value: 1}"), "spec.network.corrupt", "delta and value apply to length fields"),
		Entry("payload with delta and bytes", corruptYAML("corrupt: {field: Payload, delta: 1, bytes: 2}"), "spec.network.corrupt", "delta and value apply to length fields"),
		Entry("UDP length with protocol TCP", corruptYAML("protocol: TCP, corrupt: {field: UDPLength, delta: 4}"), "spec.network", "corrupting the UDP length needs protocol UDP"),
		Entry("UDP length with protocol ICMP", corruptYAML("protocol: ICMP, corrupt: {field: UDPLength, value: 8}"), "spec.network", "corrupting the UDP length needs protocol UDP"),
		Entry("TCP offset without protocol", corruptYAML("corrupt: {field: TCPDataOffset, value: 2}"), "spec.network", "corrupting the TCP data offset needs protocol TCP"),
		Entry("TCP offset with protocol ICMP", corruptYAML("protocol: ICMP, corrupt: {field: TCPDataOffset, delta: 1}"), "spec.network", "corrupting the TCP data offset needs protocol TCP"),
		Entry("TCP offset delta 16", corruptYAML("protocol: TCP, corrupt: {field: TCPDataOffset, delta: 16}"), "spec.network.corrupt", "the TCP data offset is 4 bits"),
		Entry("TCP offset delta -16", corruptYAML("protocol: TCP, corrupt: {field: TCPDataOffset, delta: -16}"), "spec.network.corrupt", "the TCP data offset is 4 bits"),
		Entry("TCP offset value 255", corruptYAML("protocol: TCP, corrupt: {field: TCPDataOffset, value: 255}"), "spec.network.corrupt", "the TCP data offset is 4 bits"),
		Entry("TCP offset with neither", corruptYAML("protocol: TCP, corrupt: {field: TCPDataOffset}"), "spec.network.corrupt", "a length field needs exactly one of delta or value"),
		Entry("UDP length with delta and value", corruptYAML("protocol: UDP, corrupt: {field: UDPLength, delta: 1, value: 8}"), "spec.network.corrupt", "a length field needs exactly one of delta or value"),
		Entry("checksum in lowercase", corruptYAML("corrupt: {field: Payload, checksum: repair}"), "spec.network.corrupt.checksum", "Unsupported value"),
		Entry("empty checksum", corruptYAML("corrupt: {field: Payload, checksum: ''}"), "spec.network.corrupt.checksum", "Unsupported value"),
		Entry("checksum as a boolean", corruptYAML("corrupt: {field: Payload, checksum: true}"), "spec.network.corrupt.checksum", "must be of type string"),
		// syscall
		Entry("syscalls as a string", syscallYAML("syscalls: read, errno: EIO"), "spec.syscall.syscalls", "must be of type array"),
		Entry("more than 16 syscalls", syscallYAML("syscalls: [accept, accept4, bind, clone, clone3, connect, creat, execve, fdatasync, fork, fsync, ftruncate, getsockopt, listen, mkdir, mkdirat, mmap], errno: EIO"), "spec.syscall.syscalls", "must have at most 16 items"),
		Entry("syscall in uppercase", syscallYAML("syscalls: [READ], errno: EIO"), "spec.syscall.syscalls[0]", "Unsupported value"),
		Entry("syscall with a sys_ prefix", syscallYAML("syscalls: [sys_read], errno: EIO"), "spec.syscall.syscalls[0]", "Unsupported value"),
		Entry("syscall by number", syscallYAML("syscalls: [0], errno: EIO"), "spec.syscall.syscalls[0]", "must be of type string"),
		Entry("empty syscall name", syscallYAML("syscalls: [''], errno: EIO"), "spec.syscall.syscalls[0]", "Unsupported value"),
		Entry("syscall ptrace", syscallYAML("syscalls: [ptrace], errno: EPERM"), "spec.syscall.syscalls[0]", "Unsupported value"),
		Entry("second syscall unknown", syscallYAML("syscalls: [read, kill], errno: EIO"), "spec.syscall.syscalls[1]", "Unsupported value"),
		Entry("syscalls null", syscallYAML("syscalls: null, errno: EIO"), "spec.syscall.syscalls", "Required value"),
		Entry("errno missing", syscallYAML("syscalls: [read]"), "spec.syscall.errno", "Required value"),
		Entry("errno in lowercase", syscallYAML("syscalls: [read], errno: eio"), "spec.syscall.errno", "Unsupported value"),
		Entry("empty errno", syscallYAML("syscalls: [read], errno: ''"), "spec.syscall.errno", "Unsupported value"),
		Entry("errno as an integer", syscallYAML("syscalls: [read], errno: 5"), "spec.syscall.errno", "must be of type string"),
		Entry("errno ESUCCESS", syscallYAML("syscalls: [read], errno: ESUCCESS"), "spec.syscall.errno", "Unsupported value"),
		Entry("errno EKEYREVOKED", syscallYAML("syscalls: [read], errno: EKEYREVOKED"), "spec.syscall.errno", "Unsupported value"),
		Entry("syscall probability 100.1", syscallYAML("syscalls: [read], errno: EIO, probability: '100.1'"), "spec.syscall.probability", "should match"),
		Entry("syscall probability as a number", syscallYAML("syscalls: [read], errno: EIO, probability: 5"), "spec.syscall.probability", "must be of type string"),
		Entry("syscall probability negative zero", syscallYAML("syscalls: [read], errno: EIO, probability: '-0'"), "spec.syscall.probability", "should match"),
		Entry("empty pathPrefix", syscallYAML("syscalls: [openat], errno: EIO, pathPrefix: ''"), "spec.syscall.pathPrefix", "should be at least 1 chars long"),
		Entry("pathPrefix longer than 255", syscallYAML("syscalls: [openat], errno: EIO, pathPrefix: /"+strings.Repeat("d", 255)), "spec.syscall.pathPrefix", "may not be more than 255"),
		Entry("pathPrefix as an integer", syscallYAML("syscalls: [openat], errno: EIO, pathPrefix: 5"), "spec.syscall.pathPrefix", "must be of type string"),
		Entry("pathPrefix starting with a dot", syscallYAML("syscalls: [openat], errno: EIO, pathPrefix: ./data"), "spec.syscall.pathPrefix", "should match '^/'"),
		Entry("pathPrefix with connect", syscallYAML("syscalls: [connect], errno: EIO, pathPrefix: /data"), "spec.syscall", "pathPrefix applies only to syscalls whose path a backend can compare"),
		Entry("pathPrefix with mmap", syscallYAML("syscalls: [mmap], errno: ENOMEM, pathPrefix: /data"), "spec.syscall", "pathPrefix applies only to syscalls whose path a backend can compare"),
		Entry("pathPrefix with clone", syscallYAML("syscalls: [clone], errno: EAGAIN, pathPrefix: /bin"), "spec.syscall", "pathPrefix applies only to syscalls whose path a backend can compare"),
		Entry("pathPrefix with read and socket", syscallYAML("syscalls: [read, socket], errno: EIO, pathPrefix: /data"), "spec.syscall", "pathPrefix applies only to syscalls whose path a backend can compare"),
	)

	DescribeTable("rejects an invalid Fault object",
		func(ctx SpecContext, bodyYAML, wantField, wantMessage string) {
			expectInvalid(k8sClient.Create(ctx, rawObject(ns, "Fault", bodyYAML)), wantField, wantMessage)
		},
		Entry("no spec", "", "spec", "Required value"),
		Entry("spec null", "spec: null", "spec", "Required value"),
		Entry("spec as a string", "spec: drop everything", "spec", "must be of type object"),
		Entry("spec as a list", "spec: [{duration: 30s}]", "spec", "must be of type object"),
	)

	It("rejects status the manager must not write", func(ctx SpecContext) {
		u := faultFromSpec(ns, sel+dur+dropNet)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		for _, tc := range []struct{ status, field, message string }{
			{"phase: Done", "status.phase", "Unsupported value"},
			{"phase: running", "status.phase", "Unsupported value"},
			{"action: " + strings.Repeat("a", 257), "status.action", "may not be more than 256"},
			{"timeLeft: '" + strings.Repeat("1", 33) + "'", "status.timeLeft", "may not be more than 32"},
			{"targetCount: many", "status.targetCount", "must be of type integer"},
			{"targets: [{name: p, uid: " + strings.Repeat("u", 37) + ", nodeName: n}]", "status.targets[0].uid", "may not be more than 36"},
			{"targets: [{name: p, nodeName: n}]", "status.targets[0].uid", "Required value"},
			{"targets: [{name: p, uid: u, nodeName: n, containerIDs: [" + repeatList("c%d", 17) + "]}]", "status.targets[0].containerIDs", "must have at most 16 items"},
			{"nodes: [{nodeName: a}, {nodeName: a}]", "status.nodes[1]", "Duplicate value"},
			{"nodes: [{nodeName: a, phase: Done}]", "status.nodes[0].phase", "Unsupported value"},
			{"nodes: [{nodeName: a, message: " + strings.Repeat("m", 1025) + "}]", "status.nodes[0].message", "may not be more than 1024"},
			{"conditions: [" + repeatList("{type: T%d, status: 'True', reason: R, message: m, lastTransitionTime: '2026-01-01T00:00:00Z'}", 9) + "]", "status.conditions", "must have at most 8 items"},
			{"conditions: [{type: Injected, status: Maybe, reason: R, message: m, lastTransitionTime: '2026-01-01T00:00:00Z'}]", "status.conditions[0].status", "Unsupported value"},
			{"counters: {packetsDropped: lots}", "status.counters.packetsDropped", "must be of type integer"},
			{"startTime: yesterday", "status.startTime", "must be of type date-time"},
		} {
			By(tc.status[:min(len(tc.status), 60)])
			expectInvalid(updateStatusYAML(ctx, u, tc.status), tc.field, tc.message)
		}
	})

	It("rejects any change of spec once the Fault has started", func(ctx SpecContext) {
		base := sel + dur + "network: {type: Drop, probability: '30'}"
		for _, phase := range []string{"Running", "Succeeded", "Failed"} {
			u := faultFromSpec(ns, base)
			Expect(k8sClient.Create(ctx, u)).To(Succeed())
			Expect(updateStatusYAML(ctx, u, "phase: "+phase)).To(Succeed())
			for _, spec := range []string{
				sel + "duration: 1h\n" + "network: {type: Drop, probability: '30'}",
				sel + dur + "network: {type: Drop, probability: '100'}",
				sel + dur + "network: {type: Drop, probability: '30', direction: Egress}",
				"selector: {matchLabels: {app: db}}\n" + dur + "network: {type: Drop, probability: '30'}",
				sel + dur + "dryRun: true\nnetwork: {type: Drop, probability: '30'}",
				sel + dur + "mode: One\nnetwork: {type: Drop, probability: '30'}",
			} {
				By(phase + ": " + strings.ReplaceAll(spec, "\n", " "))
				expectInvalid(updateSpecYAML(ctx, u, spec), "spec", "spec is immutable once the Fault has started")
			}
		}
	})

	It("applies the create rules to updates of a pending Fault", func(ctx SpecContext) {
		u := faultFromSpec(ns, sel+dur+dropNet)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		Expect(updateStatusYAML(ctx, u, "phase: Pending")).To(Succeed())
		for _, tc := range []struct{ spec, field, message string }{
			{sel + "duration: 25h\n" + dropNet, "spec.duration", "duration must be between 1s and 24h"},
			{sel + dur + "network: {type: Drop}\nsyscall: {syscalls: [read], errno: EIO}", "spec", "exactly one action must be set"},
			{sel + dur, "spec", "exactly one action must be set"},
			{"selector: {}\n" + dur + dropNet, "spec.selector", "selector must name pods"},
		} {
			By(strings.ReplaceAll(tc.spec, "\n", " "))
			expectInvalid(updateSpecYAML(ctx, u, tc.spec), tc.field, tc.message)
		}
	})
})

var _ = Describe("FaultInjection validation by the real API server", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("accepts the valid FaultInjection the cases below start from", func(ctx SpecContext) {
		Expect(k8sClient.Create(ctx, rawObject(ns, "FaultInjection", injectionSpec()))).To(Succeed())
	})

	DescribeTable("rejects an invalid FaultInjection",
		func(ctx SpecContext, bodyYAML, wantField, wantMessage string) {
			expectInvalid(k8sClient.Create(ctx, rawObject(ns, "FaultInjection", bodyYAML)), wantField, wantMessage)
		},
		Entry("no spec", "", "spec", "Required value"),
		Entry("no action", injectionSpec("  network: {type: Drop}\n", ""), "spec", "exactly one action must be set: network or syscall"),
		Entry("two actions", injectionSpec("  network: {type: Drop}\n", "  network: {type: Drop}\n  syscall: {syscalls: [read], errno: EIO}\n"), "spec", "exactly one action must be set"),
		Entry("no faultName", injectionSpec("  faultName: f\n", ""), "spec.faultName", "Required value"),
		Entry("faultName longer than 253", injectionSpec("faultName: f", "faultName: "+strings.Repeat("f", 254)), "spec.faultName", "may not be more than 253"),
		Entry("no nodeName", injectionSpec("  nodeName: node-1\n", ""), "spec.nodeName", "Required value"),
		Entry("nodeName longer than 253", injectionSpec("nodeName: node-1", "nodeName: "+strings.Repeat("n", 254)), "spec.nodeName", "may not be more than 253"),
		Entry("nodeName as an integer", injectionSpec("nodeName: node-1", "nodeName: 1"), "spec.nodeName", "must be of type string"),
		Entry("no targets", injectionSpec("  targets: [{podUID: 3c7a1e2f-8d4b-4c6a-9e0f-1a2b3c4d5e6f, namespace: default, name: web-0}]\n", ""), "spec.targets", "Required value"),
		Entry("empty targets", injectionSpec("targets: [{podUID: 3c7a1e2f-8d4b-4c6a-9e0f-1a2b3c4d5e6f, namespace: default, name: web-0}]", "targets: []"), "spec.targets", "should have at least 1 items"),
		Entry("target without podUID", injectionSpec("podUID: 3c7a1e2f-8d4b-4c6a-9e0f-1a2b3c4d5e6f, ", ""), "spec.targets[0].podUID", "Required value"),
		Entry("podUID longer than 36", injectionSpec("podUID: 3c7a1e2f", "podUID: 03c7a1e2f"), "spec.targets[0].podUID", "may not be more than 36"),
		Entry("target namespace longer than 63", injectionSpec("namespace: default", "namespace: "+strings.Repeat("n", 64)), "spec.targets[0].namespace", "may not be more than 63"),
		Entry("target name longer than 253", injectionSpec("name: web-0", "name: "+strings.Repeat("w", 254)), "spec.targets[0].name", "may not be more than 253"),
		Entry("target without name", injectionSpec(", name: web-0", ""), "spec.targets[0].name", "Required value"),
		Entry("more than 16 containerIDs", injectionSpec("name: web-0}", "name: web-0, containerIDs: ["+repeatList("c%d", 17)+"]}"), "spec.targets[0].containerIDs", "must have at most 16 items"),
		Entry("containerID longer than 128", injectionSpec("name: web-0}", "name: web-0, containerIDs: ["+strings.Repeat("a", 129)+"]}"), "spec.targets[0].containerIDs[0]", "may not be more than 128"),
		Entry("duplicate containerIDs", injectionSpec("name: web-0}", "name: web-0, containerIDs: [a, a]}"), "spec.targets[0].containerIDs[1]", "Duplicate value"),
		Entry("targets as an object", injectionSpec("targets: [{podUID: 3c7a1e2f-8d4b-4c6a-9e0f-1a2b3c4d5e6f, namespace: default, name: web-0}]", "targets: {podUID: x}"), "spec.targets", "must be of type array"),
		Entry("no deadline", injectionSpec("  deadline: '2030-01-02T03:04:05.000006Z'\n", ""), "spec.deadline", "Required value"),
		Entry("deadline not a time", injectionSpec("deadline: '2030-01-02T03:04:05.000006Z'", "deadline: tomorrow"), "spec.deadline", "must be of type date-time"),
		Entry("deadline as a number", injectionSpec("deadline: '2030-01-02T03:04:05.000006Z'", "deadline: 1893553445"), "spec.deadline", "must be of type date-time"),
		Entry("unknown network type", injectionSpec("network: {type: Drop}", "network: {type: Delay}"), "spec.network.type", "Unsupported value"),
		Entry("Corrupt without corrupt", injectionSpec("network: {type: Drop}", "network: {type: Corrupt}"), "spec.network", "corrupt is required when type is Corrupt"),
		Entry("ports without protocol", injectionSpec("network: {type: Drop}", "network: {type: Drop, ports: [{from: 80}]}"), "spec.network", "port filters need protocol TCP or UDP"),
		Entry("bad peer CIDR", injectionSpec("network: {type: Drop}", "network: {type: Drop, peerCIDRs: [everything]}"), "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("probability above 100", injectionSpec("network: {type: Drop}", "network: {type: Drop, probability: '100.5'}"), "spec.network.probability", "should match"),
		Entry("unknown syscall", injectionSpec("network: {type: Drop}", "syscall: {syscalls: [kill], errno: EIO}"), "spec.syscall.syscalls[0]", "Unsupported value"),
		Entry("unknown errno", injectionSpec("network: {type: Drop}", "syscall: {syscalls: [read], errno: EOK}"), "spec.syscall.errno", "Unsupported value"),
		Entry("no syscalls", injectionSpec("network: {type: Drop}", "syscall: {syscalls: [], errno: EIO}"), "spec.syscall.syscalls", "should have at least 1 items"),
		Entry("pathPrefix on connect", injectionSpec("network: {type: Drop}", "syscall: {syscalls: [connect], errno: EIO, pathPrefix: /x}"), "spec.syscall", "pathPrefix applies only to syscalls whose path a backend can compare"),
	)

	It("rejects any change of spec and invalid agent status", func(ctx SpecContext) {
		u := rawObject(ns, "FaultInjection", injectionSpec())
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		for _, spec := range []string{
			injectionSpec("node-1", "node-2"),
			injectionSpec("2030-01-02T03:04:05.000006Z", "2031-01-02T03:04:05.000006Z"),
			injectionSpec("network: {type: Drop}", "network: {type: Drop, probability: '1'}"),
			injectionSpec("network: {type: Drop}", "syscall: {syscalls: [read], errno: EIO}"),
			injectionSpec("name: web-0}", "name: web-0}, {podUID: 99999999-8d4b-4c6a-9e0f-1a2b3c4d5e6f, namespace: default, name: web-1}"),
		} {
			var body map[string]any
			Expect(yaml.Unmarshal([]byte(spec), &body)).To(Succeed())
			specYAML, err := yaml.Marshal(body["spec"])
			Expect(err).NotTo(HaveOccurred())
			expectInvalid(updateSpecYAML(ctx, u, string(specYAML)), "spec", "spec is immutable")
		}
		for _, tc := range []struct{ status, field, message string }{
			{"phase: Done", "status.phase", "Unsupported value"},
			{"targets: [{podUID: a, state: Attached}]", "status.targets[0].state", "Unsupported value"},
			{"targets: [{podUID: a, state: Injected}, {podUID: a, state: Failed}]", "status.targets[1]", "Duplicate value"},
			{"targets: [{state: Injected}]", "status.targets[0].podUID", "Required value"},
			{"targets: [{podUID: a}]", "status.targets[0].state", "Required value"},
			{"targets: [{podUID: a, state: Failed, message: " + strings.Repeat("m", 1025) + "}]", "status.targets[0].message", "may not be more than 1024"},
			{"targets: [{podUID: a, state: Injected, methods: [" + repeatList("m%d", 65) + "]}]", "status.targets[0].methods", "must have at most 64 items"},
			{"targets: [{podUID: a, state: Injected, methods: [" + strings.Repeat("m", 129) + "]}]", "status.targets[0].methods[0]", "may not be more than 128"},
			{"counters: {syscallsFailed: '3'}", "status.counters.syscallsFailed", "must be of type integer"},
			{"lastUpdateTime: now", "status.lastUpdateTime", "must be of type date-time"},
		} {
			By(tc.status[:min(len(tc.status), 60)])
			expectInvalid(updateStatusYAML(ctx, u, tc.status), tc.field, tc.message)
		}
	})
})
