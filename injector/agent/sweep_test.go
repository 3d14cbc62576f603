package agent_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/convert"
	"github.com/temblor-dev/temblor/injector/netns"
	"github.com/temblor-dev/temblor/injector/network"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

// leakEnv names a network namespace; when set, the test binary attaches a
// legacy netlink tc drop filter there and exits without removing it, as an
// agent that died would.
const leakEnv = "TEMBLOR_AGENT_TEST_LEAK"

// runLeakLegacy is main() of the leaking process.
func runLeakLegacy(nsPath string) int {
	cfg, err := convert.Network(&chaosv1.NetworkAction{
		Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Probability: "100", Protocol: chaosv1.ProtocolUDP,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "leak:", err)
		return 1
	}
	cfg.Method = network.MethodNetlinkTC
	att, err := network.Attach(context.Background(), nsPath, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leak:", err)
		return 1
	}
	fmt.Println("leaked:", att.Methods())
	return 0 // without Close: the cls_bpf filter keeps its programs
}

var _ = Describe("An agent start", Ordered, Label("network", "restart"), func() {
	It("sweeps legacy tc filters of no live FaultInjection from every pod namespace of the node", func(ctx SpecContext) {
		Expect(temblorBPF()).To(BeEmpty())
		a, b := vethPair()
		podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{NetNS: a})
		var rx, tx *net.UDPConn
		Expect(netns.Do(b, func() (err error) {
			rx, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("10.198.0.2"), Port: 9997})
			return err
		})).To(Succeed())
		DeferCleanup(rx.Close)
		Expect(netns.Do(a, func() (err error) {
			tx, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.ParseIP("10.198.0.2"), Port: 9997})
			return err
		})).To(Succeed())
		DeferCleanup(tx.Close)

		By("leaving a legacy filter behind, as an agent that died after its FaultInjection was abandoned would")
		leak := exec.Command("/proc/self/exe")
		leak.Env = append(os.Environ(), leakEnv+"="+a)
		leak.Stdout, leak.Stderr = GinkgoWriter, GinkgoWriter
		Expect(leak.Run()).To(Succeed())
		// The filter and its stub stay; the stub's prog array went with the
		// process, so the packets pass.
		Expect(temblorBPF()).NotTo(BeEmpty())
		Eventually(func() int { return received(tx, rx, 5) }).WithTimeout(5 * time.Second).Should(Equal(5))

		By("starting an agent that has no FaultInjection for the pod")
		started := time.Now()
		child := startChild(writeChildConfig("auto"))
		DeferCleanup(func() { stopChild(child) })
		Eventually(temblorBPF).WithTimeout(20 * time.Second).WithPolling(50 * time.Millisecond).Should(BeEmpty())
		GinkgoWriter.Printf("MEASURE start-up sweep: no Temblor BPF object left %s after the agent started\n", time.Since(started))
		Expect(received(tx, rx, 5)).To(Equal(5))
	})
})
