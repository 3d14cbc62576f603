package controllers_test

import (
	"fmt"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var invalidCounter atomic.Int32

// faultFromSpec builds an unstructured Fault around a YAML spec, the way a
// user's manifest reaches the API server.
func faultFromSpec(ns, specYAML string) *unstructured.Unstructured {
	var spec map[string]any
	Expect(yaml.Unmarshal([]byte(specYAML), &spec)).To(Succeed())
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "chaos.temblor.dev/v1alpha1",
		"kind":       "Fault",
		"metadata":   map[string]any{"name": fmt.Sprintf("invalid-%d", invalidCounter.Add(1)), "namespace": ns},
		"spec":       spec,
	}}
	return u
}

const (
	sel = "selector: {matchLabels: {app: web}}\n"
	dur = "duration: 30s\n"
)

var _ = Describe("Fault validation by the real API server", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("accepts a valid network and a valid syscall fault, filling defaults", func(ctx SpecContext) {
		for _, spec := range []string{
			sel + dur + "network: {type: Drop, protocol: UDP, ports: [{from: 53}], peerCIDRs: [10.96.0.0/12, 'fd00::/8']}",
			sel + dur + "network: {type: Corrupt, protocol: UDP, corrupt: {field: UDPLength, delta: -8}}",
			sel + dur + "mode: Percent\npercent: 50\nsyscall: {syscalls: [openat, read], errno: EIO, probability: '0.5', pathPrefix: /data/}",
		} {
			u := faultFromSpec(ns, spec)
			Expect(k8sClient.Create(ctx, u)).To(Succeed(), spec)
			specMap := u.Object["spec"].(map[string]any)
			Expect(specMap["mode"]).To(BeElementOf("All", "Percent"))
			for _, action := range []string{"network", "syscall"} {
				if a, ok := specMap[action].(map[string]any); ok {
					Expect(a).To(HaveKey("probability"))
				}
			}
		}
	})

	DescribeTable("rejects an invalid manifest with a message naming the field",
		func(ctx SpecContext, specYAML string, wantField, wantMessage string) {
			err := k8sClient.Create(ctx, faultFromSpec(ns, specYAML))
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(wantField))
			Expect(err.Error()).To(ContainSubstring(wantMessage))
			GinkgoWriter.Println("API server:", err.Error())
		},
		Entry("no action", sel+dur, "spec", "exactly one action must be set: network or syscall"),
		Entry("two actions", sel+dur+"network: {type: Drop}\nsyscall: {syscalls: [read], errno: EIO}", "spec", "exactly one action must be set"),
		Entry("no duration", sel+"network: {type: Drop}", "spec.duration", "Required value"),
		Entry("duration below 1s", sel+"duration: 500ms\nnetwork: {type: Drop}", "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration above 24h", sel+"duration: 25h\nnetwork: {type: Drop}", "spec.duration", "duration must be between 1s and 24h"),
		Entry("duration not a duration", sel+"duration: soon\nnetwork: {type: Drop}", "spec.duration", "duration"),
		Entry("no selector", dur+"network: {type: Drop}", "spec.selector", "Required value"),
		Entry("empty selector", "selector: {}\n"+dur+"network: {type: Drop}", "spec.selector", "selector must name pods"),
		Entry("unknown mode", sel+dur+"mode: Some\nnetwork: {type: Drop}", "spec.mode", "Unsupported value"),
		Entry("Fixed without count", sel+dur+"mode: Fixed\nnetwork: {type: Drop}", "spec", "count is required when mode is Fixed"),
		Entry("count without Fixed", sel+dur+"count: 2\nnetwork: {type: Drop}", "spec", "count is only valid when mode is Fixed"),
		Entry("Percent without percent", sel+dur+"mode: Percent\nnetwork: {type: Drop}", "spec", "percent is required when mode is Percent"),
		Entry("percent 0", sel+dur+"mode: Percent\npercent: 0\nnetwork: {type: Drop}", "spec.percent", "should be greater than or equal to 1"),
		Entry("percent 101", sel+dur+"mode: Percent\npercent: 101\nnetwork: {type: Drop}", "spec.percent", "should be less than or equal to 100"),
		Entry("unknown network type", sel+dur+"network: {type: Delay}", "spec.network.type", "Unsupported value"),
		Entry("unknown direction", sel+dur+"network: {type: Drop, direction: Sideways}", "spec.network.direction", "Unsupported value"),
		Entry("probability above 100", sel+dur+"network: {type: Drop, probability: '150'}", "spec.network.probability", "should match"),
		Entry("probability with three decimals", sel+dur+"network: {type: Drop, probability: '30.125'}", "spec.network.probability", "should match"),
		Entry("negative probability", sel+dur+"network: {type: Drop, probability: '-1'}", "spec.network.probability", "should match"),
		Entry("unknown protocol", sel+dur+"network: {type: Drop, protocol: SCTP}", "spec.network.protocol", "Unsupported value"),
		Entry("port 0", sel+dur+"network: {type: Drop, protocol: TCP, ports: [{from: 0}]}", "spec.network.ports[0].from", "should be greater than or equal to 1"),
		Entry("port above 65535", sel+dur+"network: {type: Drop, protocol: TCP, destinationPorts: [{from: 70000}]}", "spec.network.destinationPorts[0].from", "should be less than or equal to 65535"),
		Entry("port range reversed", sel+dur+"network: {type: Drop, protocol: TCP, sourcePorts: [{from: 9000, to: 8000}]}", "spec.network.sourcePorts[0]", "port range end (to) must not be below its start (from)"),
		Entry("ports without protocol", sel+dur+"network: {type: Drop, ports: [{from: 80}]}", "spec.network", "port filters need protocol TCP or UDP"),
		Entry("ports with ICMP", sel+dur+"network: {type: Drop, protocol: ICMP, ports: [{from: 80}]}", "spec.network", "port filters need protocol TCP or UDP"),
		Entry("too many port ranges", sel+dur+"network: {type: Drop, protocol: TCP, ports: ["+strings.Repeat("{from: 1},", 8)+"{from: 2}]}", "spec.network.ports", "must have at most 8 items"),
		Entry("CIDR prefix too long", sel+dur+"network: {type: Drop, peerCIDRs: [10.0.0.0/33]}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("CIDR not an address", sel+dur+"network: {type: Drop, peerCIDRs: [database]}", "spec.network.peerCIDRs", "peerCIDRs must hold valid CIDRs"),
		Entry("interface name too long", sel+dur+"network: {type: Drop, interface: this-name-is-too-long}", "spec.network.interface", "may not be more than 15"),
		Entry("Corrupt without corrupt", sel+dur+"network: {type: Corrupt}", "spec.network", "corrupt is required when type is Corrupt"),
		Entry("Drop with corrupt", sel+dur+"network: {type: Drop, corrupt: {field: Payload}}", "spec.network", "corrupt is only valid when type is Corrupt"),
		Entry("unknown corrupt field", sel+dur+"network: {type: Corrupt, corrupt: {field: TTL}}", "spec.network.corrupt.field", "Unsupported value"),
		Entry("UDP length without protocol UDP", sel+dur+"network: {type: Corrupt, corrupt: {field: UDPLength, delta: 8}}", "spec.network", "corrupting the UDP length needs protocol UDP"),
		Entry("TCP offset with protocol UDP", sel+dur+"network: {type: Corrupt, protocol: UDP, corrupt: {field: TCPDataOffset, value: 2}}", "spec.network", "corrupting the TCP data offset needs protocol TCP"),
		Entry("TCP offset beyond 4 bits", sel+dur+"network: {type: Corrupt, protocol: TCP, corrupt: {field: TCPDataOffset, value: 16}}", "spec.network.corrupt", "the TCP data offset is 4 bits"),
		Entry("length field with delta and value", sel+dur+"network: {type: Corrupt, corrupt: {field: IPv4TotalLength, delta: 8, value: 20}}", "spec.network.corrupt", "a length field needs exactly one of delta or value"),
		Entry("length field with neither", sel+dur+"network: {type: Corrupt, corrupt: {field: IPv4TotalLength}}", "spec.network.corrupt", "a length field needs exactly one of delta or value"),
		Entry("zero delta", sel+dur+"network: {type: Corrupt, corrupt: {field: IPv4TotalLength, delta: 0}}", "spec.network.corrupt.delta", "delta must not be 0"),
		Entry("payload with delta", sel+dur+"network: {type: Corrupt, corrupt: {field: Payload, delta: 1}}", "spec.network.corrupt", "delta and value apply to length fields"),
		Entry("payload bytes above 16", sel+dur+"network: {type: Corrupt, corrupt: {field: Payload, bytes: 17}}", "spec.network.corrupt.bytes", "should be less than or equal to 16"),
		Entry("unknown checksum policy", sel+dur+"network: {type: Corrupt, corrupt: {field: Payload, checksum: Maybe}}", "spec.network.corrupt.checksum", "Unsupported value"),
		Entry("unknown syscall", sel+dur+"syscall: {syscalls: [frobnicate], errno: EIO}", "spec.syscall.syscalls[0]", "Unsupported value"),
		Entry("unknown errno", sel+dur+"syscall: {syscalls: [read], errno: EWHATEVER}", "spec.syscall.errno", "Unsupported value"),
		Entry("numeric errno", sel+dur+"syscall: {syscalls: [read], errno: '5'}", "spec.syscall.errno", "Unsupported value"),
		Entry("no syscalls", sel+dur+"syscall: {syscalls: [], errno: EIO}", "spec.syscall.syscalls", "should have at least 1 items"),
		Entry("duplicate syscalls", sel+dur+"syscall: {syscalls: [read, read], errno: EIO}", "spec.syscall.syscalls[1]", "Duplicate value"),
		Entry("pathPrefix on connect", sel+dur+"syscall: {syscalls: [connect], errno: ECONNREFUSED, pathPrefix: /data}", "spec.syscall", "pathPrefix applies only to syscalls whose path a backend can compare"),
		Entry("relative pathPrefix", sel+dur+"syscall: {syscalls: [openat], errno: EIO, pathPrefix: data/}", "spec.syscall.pathPrefix", "should match '^/'"),
		Entry("syscall probability above 100", sel+dur+"syscall: {syscalls: [read], errno: EIO, probability: '100.5'}", "spec.syscall.probability", "should match"),
		Entry("containerNames on a network fault", "selector: {matchLabels: {app: web}, containerNames: [app]}\n"+dur+"network: {type: Drop}", "spec", "selector.containerNames applies only to syscall faults"),
	)
})
