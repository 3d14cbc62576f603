package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Socket filters of the syscall action (ports, peerCIDRs): what the CRD
// accepts some backend can honour, the rest is refused at apply time with
// the API server's message.
var _ = Describe("syscall socket filters (ports, peerCIDRs)", func() {
	It("accepts ports and peerCIDRs on connect, bind, sendto and sendmsg, and keeps them", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		for _, fields := range []string{
			"syscalls: [connect], errno: ECONNREFUSED, ports: [{from: 5432}]",
			"syscalls: [connect, sendto, sendmsg], errno: ECONNREFUSED, ports: [{from: 5432, to: 5433}, {from: 53}], peerCIDRs: [10.0.0.0/8, 'fd00::/8']",
			"syscalls: [bind], errno: EADDRINUSE, peerCIDRs: [127.0.0.1/32]",
			"syscalls: [sendto], errno: EPERM, ports: [" + repeatList("{from: %d}", 8) + "]",
		} {
			u := faultFromSpec(ns, syscallYAML(fields))
			Expect(k8sClient.Create(ctx, u)).To(Succeed(), fields)
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(u.GroupVersionKind())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), got)).To(Succeed())
			want, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "syscall")
			have, _, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "syscall")
			for _, f := range []string{"ports", "peerCIDRs"} {
				w, _ := want.(map[string]any)[f]
				h, _ := have.(map[string]any)[f]
				if w == nil {
					continue
				}
				Expect(h).To(Equal(w), "%s of %q after the round trip (pruned?)", f, fields)
			}
		}
	})

	It("refuses filters on syscalls that carry no address, naming the socket syscalls", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		for _, fields := range []string{
			"syscalls: [openat], errno: EIO, ports: [{from: 5432}]",
			"syscalls: [connect, socket], errno: EACCES, peerCIDRs: [10.0.0.0/8]",
			"syscalls: [listen], errno: EACCES, ports: [{from: 80}]",
			"syscalls: [recvfrom], errno: EIO, peerCIDRs: ['::1/128']",
		} {
			err := k8sClient.Create(ctx, faultFromSpec(ns, syscallYAML(fields)))
			expectInvalid(err, "spec.syscall", "ports and peerCIDRs apply only to socket syscalls that carry an address: connect, bind, sendto, sendmsg")
		}
	})

	It("refuses bad ports and CIDRs with the network action's messages", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		for _, tc := range []struct{ fields, field, message string }{
			{"ports: [{from: 5433, to: 5432}]", "spec.syscall.ports[0]", "port range end (to) must not be below its start (from)"},
			{"ports: [{from: 0}]", "spec.syscall.ports[0].from", "should be greater than or equal to 1"},
			{"ports: [{from: 65536}]", "spec.syscall.ports[0].from", "should be less than or equal to 65535"},
			{"ports: [" + repeatList("{from: %d}", 9) + "]", "spec.syscall.ports", "must have at most 8 items"},
			{"peerCIDRs: [database]", "spec.syscall.peerCIDRs", "peerCIDRs must hold valid CIDRs"},
			{"peerCIDRs: [10.0.0.0/33]", "spec.syscall.peerCIDRs", "peerCIDRs must hold valid CIDRs"},
			{"peerCIDRs: ['::ffff:10.0.0.0/104']", "spec.syscall.peerCIDRs", "peerCIDRs must hold valid CIDRs"},
			{"peerCIDRs: [" + repeatList("10.0.%d.0/24", 33) + "]", "spec.syscall.peerCIDRs", "must have at most 32 items"},
		} {
			err := k8sClient.Create(ctx, faultFromSpec(ns, syscallYAML("syscalls: [connect], errno: ECONNREFUSED, "+tc.fields)))
			expectInvalid(err, tc.field, tc.message)
		}
	})
})
