package agent_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/netns"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

var _ = Describe("A network fault", Ordered, Label("network"), func() {
	It("drops all egress UDP of a fake pod with a veth, counts it, and is removed on deletion", func(ctx SpecContext) {
		a, b := vethPair()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{NetNS: a})

		// A receiver in B and a sender whose socket lives in A.
		var rx *net.UDPConn
		Expect(netns.Do(b, func() (err error) {
			rx, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("10.198.0.2"), Port: 9999})
			return err
		})).To(Succeed())
		DeferCleanup(rx.Close)
		var tx *net.UDPConn
		Expect(netns.Do(a, func() (err error) {
			tx, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.ParseIP("10.198.0.2"), Port: 9999})
			return err
		})).To(Succeed())
		DeferCleanup(tx.Close)
		Expect(received(tx, rx, 5)).To(Equal(5))

		act := chaosv1.FaultAction{Network: &chaosv1.NetworkAction{
			Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Probability: "100", Protocol: chaosv1.ProtocolUDP,
		}}
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
func vethPair() (a, b string) {
	na, nb := fmt.Sprintf("tba-%d-a", os.Getpid()), fmt.Sprintf("tba-%d-b", os.Getpid())
	DeferCleanup(func() {
		exec.Command("ip", "netns", "del", na).Run()
		exec.Command("ip", "netns", "del", nb).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", na}, {"netns", "add", nb},
		{"-n", na, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", nb},
		{"-n", na, "addr", "add", "10.198.0.1/24", "dev", "eth0"},
		{"-n", nb, "addr", "add", "10.198.0.2/24", "dev", "eth0"},
		{"-n", na, "link", "set", "eth0", "up"}, {"-n", nb, "link", "set", "eth0", "up"},
		{"-n", na, "link", "set", "lo", "up"}, {"-n", nb, "link", "set", "lo", "up"},
	} {
		out, err := exec.Command("ip", args...).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "ip %v: %s", args, out)
	}
	return "/run/netns/" + na, "/run/netns/" + nb
}
