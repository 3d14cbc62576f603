package agent_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("A network fault", Ordered, Label("network"), func() {
	It("drops all egress UDP of a fake pod with a veth, counts it, and is removed on deletion", func(ctx SpecContext) {
		a, b := vethPair()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{NetNS: a})

		// A receiver in B and a sender whose socket lives in A.
		tx, rx := udpPair(a, b)
		Expect(received(tx, rx, 5)).To(Equal(5))

		act := dropEgressUDP()
		fi := newInjection(uniqueName("drop"), nodeA, time.Now().Add(5*time.Minute), act, target(pod, "udp-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		expectInjected(fi, 10*time.Second)
		GinkgoWriter.Printf("methods: %v\n", get(fi).Status.Targets[0].Methods)

		Expect(received(tx, rx, 20)).To(BeZero())
		Eventually(func(g Gomega) {
			st := get(fi).Status
			g.Expect(st.Counters.PacketsDropped).To(BeNumerically(">=", 20))
			g.Expect(st.Targets[0].Counters.PacketsMatched).To(BeNumerically(">=", 20))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		Expect(metricValue("temblor_packets_dropped_total")).To(BeNumerically(">=", 20))

		deleteAndExpectGone(fi, 10*time.Second)
		Expect(received(tx, rx, 5)).To(Equal(5))
		expectNoTemblorBPF()
	})
})

// received sends n datagrams and counts those that arrive.
func received(tx, rx *net.UDPConn, n int) int {
	for i := range n {
		tx.Write([]byte(fmt.Sprintf("ping %d", i)))
	}
	got := 0
	buf := make([]byte, 64)
	for {
		rx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := rx.Read(buf); err != nil {
			return got
		}
		got++
	}
}

// vethPair creates two named network namespaces joined by a veth pair
// (10.198.0.1 in A, 10.198.0.2 in B) and deletes them when the spec ends.
func vethPair() (a, b string) { return vethPairTagged(strconv.Itoa(os.Getpid())) }
