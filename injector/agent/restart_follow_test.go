package agent_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/netns"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
)

// refaultWithin is how soon a restarted container or a recreated sandbox
// must be faulted again (issue 11, hole 4).
const refaultWithin = time.Second

// runtimeNames stands in for the container runtime's answer to "which pod
// and container is this ID" (the CRI ContainerStatus labels); the e2e suite
// asks the real containerd.
type runtimeNames struct {
	mu    sync.Mutex
	names map[string][2]string // id → pod UID, container name
}

var fakeRuntime = &runtimeNames{names: map[string][2]string{}}

func (r *runtimeNames) set(podUID, id, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names[id] = [2]string{podUID, name}
}

func (r *runtimeNames) ContainerName(_ context.Context, id string) (string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.names[id]
	if !ok {
		return "", "", fmt.Errorf("container %s: not found", id)
	}
	return n[0], n[1], nil
}

var _ = Describe("A restarted container or recreated sandbox", Label("restart"), func() {
	It("is faulted again within a second by a whole-pod syscall fault", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		fi := newInjection(uniqueName("restart-pod"), nodeA, time.Now().Add(5*time.Minute), connectRefused, target(pod, "web-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		DeferCleanup(func() { deleteAndExpectGone(fi, 10*time.Second) })
		expectInjected(fi, 10*time.Second)
		Expect(connectResult(pod, addr)).To(Equal("ECONNREFUSED"))

		start := time.Now()
		newID, _ := pod.RestartContainer(GinkgoT(), pod.AppID, "")
		Eventually(func() string { return connectIn(pod, newID, addr) }).
			WithTimeout(refaultWithin).WithPolling(20 * time.Millisecond).Should(Equal("ECONNREFUSED"))
		AddReportEntry("whole-pod syscall fault after a container restart", fmt.Sprintf("faulted again %s after the restart", time.Since(start).Round(time.Millisecond)))
		Expect(get(fi).Status.Targets[0].State).To(Equal(chaosv1.TargetInjected))
	})

	It("is followed by name by a container-scoped syscall fault, and never widened to the pod", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{})
		fakeRuntime.set(pod.UID, pod.AppID, "app")
		fakeRuntime.set(pod.UID, pod.PauseID, "POD")
		t := target(pod, "web-0")
		t.ContainerIDs = []string{"containerd://" + pod.AppID}
		fi := newInjection(uniqueName("restart-ctr"), nodeA, time.Now().Add(5*time.Minute), connectRefused, t)
		created := time.Now()
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		DeferCleanup(func() { deleteAndExpectGone(fi, 10*time.Second) })
		expectInjected(fi, 10*time.Second)
		Expect(connectIn(pod, pod.AppID, addr)).To(Equal("ECONNREFUSED"))
		first := get(fi).Status
		Expect(first.SeenTime).NotTo(BeNil(), "seenTime")
		Expect(first.Targets[0].InjectedTime).NotTo(BeNil(), "injectedTime")
		Expect(first.SeenTime.Time).To(BeTemporally(">=", created.Add(-time.Millisecond)))
		Expect(first.Targets[0].InjectedTime.Time).To(BeTemporally(">=", first.SeenTime.Time))

		By("restarting the app container: the runtime names the new one 'app'")
		newID := restartNamed(pod, pod.AppID, "app")
		start := time.Now()
		Eventually(func() string { return connectIn(pod, newID, addr) }).
			WithTimeout(refaultWithin).WithPolling(20 * time.Millisecond).Should(Equal("ECONNREFUSED"))
		AddReportEntry("container-scoped syscall fault after a container restart", fmt.Sprintf("faulted again %s after the restart", time.Since(start).Round(time.Millisecond)))
		Expect(connectIn(pod, pod.PauseID, addr)).To(Equal("ok"), "another container of the pod must stay unfaulted")
		Eventually(func(g Gomega) {
			st := get(fi).Status.Targets[0]
			g.Expect(st.State).To(Equal(chaosv1.TargetInjected))
			g.Expect(st.Reinjections).To(BeEquivalentTo(1))
			g.Expect(st.Message).To(ContainSubstring("applied again"))
			g.Expect(st.InjectedTime.Time).To(BeTemporally(">", first.Targets[0].InjectedTime.Time), "injectedTime moves with the re-attach")
		}).WithTimeout(5 * time.Second).Should(Succeed())

		By("restarting the pause container: not the one the Fault named")
		restartNamed(pod, pod.PauseID, "POD")
		Consistently(func() string { return connectIn(pod, pod.PauseID, addr) }).
			WithTimeout(time.Second).WithPolling(100 * time.Millisecond).Should(Equal("ok"))
		Expect(connectIn(pod, newID, addr)).To(Equal("ECONNREFUSED"))
	})

	It("is reported, not widened, when the runtime cannot name the restarted container", func(ctx SpecContext) {
		addr := listener()
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{}) // no names known
		t := target(pod, "web-0")
		t.ContainerIDs = []string{"containerd://" + pod.AppID}
		fi := newInjection(uniqueName("restart-anon"), nodeA, time.Now().Add(5*time.Minute), connectRefused, t)
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		DeferCleanup(func() { deleteAndExpectGone(fi, 10*time.Second) })
		expectInjected(fi, 10*time.Second)

		newID, _ := pod.RestartContainer(GinkgoT(), pod.AppID, "")
		Eventually(func(g Gomega) {
			st := get(fi).Status.Targets[0]
			g.Expect(st.State).To(Equal(chaosv1.TargetFailed))
			g.Expect(st.Message).To(ContainSubstring("cannot tell"))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("message: %s\n", get(fi).Status.Targets[0].Message)
		Expect(connectIn(pod, newID, addr)).To(Equal("ok"))
		Expect(connectIn(pod, pod.PauseID, addr)).To(Equal("ok"))
		Expect(agentA.HeldTargets()).To(BeZero())
	})

	It("is faulted again within a second by a network fault, in its new namespace", func(ctx SpecContext) {
		a1, b1 := vethPairTagged("s1")
		a2, b2 := vethPairTagged("s2")
		pod := podresolvetest.New(GinkgoT(), podRoot, podresolvetest.Options{NetNS: a1})
		act := dropEgressUDP()
		fi := newInjection(uniqueName("sandbox"), nodeA, time.Now().Add(5*time.Minute), act, target(pod, "web-0"))
		Expect(k8sClient.Create(ctx, fi)).To(Succeed())
		DeferCleanup(func() { deleteAndExpectGone(fi, 10*time.Second) })
		expectInjected(fi, 10*time.Second)
		tx1, rx1 := udpPair(a1, b1)
		Expect(received(tx1, rx1, 10)).To(BeZero())

		By("recreating the sandbox: a new pause and app in a new network namespace, the old ones gone")
		tx2, rx2 := udpPair(a2, b2)
		Expect(received(tx2, rx2, 3)).To(Equal(3), "the new namespace is not faulted before the restart")
		start := time.Now()
		pod.RestartContainer(GinkgoT(), pod.PauseID, a2)
		pod.RestartContainer(GinkgoT(), pod.AppID, a2)
		Eventually(func() int { return received(tx2, rx2, 3) }).
			WithTimeout(refaultWithin).WithPolling(10 * time.Millisecond).Should(BeZero())
		AddReportEntry("network fault after a sandbox recreation", fmt.Sprintf("faulted again %s after the new sandbox started", time.Since(start).Round(time.Millisecond)))
		Eventually(func(g Gomega) {
			st := get(fi).Status.Targets[0]
			g.Expect(st.State).To(Equal(chaosv1.TargetInjected))
			g.Expect(st.Reinjections).To(BeEquivalentTo(1))
			// Counters add up over both namespaces.
			g.Expect(st.Counters.PacketsDropped).To(BeNumerically(">=", 13))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		Expect(agentA.HeldTargets()).To(Equal(1))
		By("the old namespace's attachment is released")
		Expect(received(tx1, rx1, 5)).To(Equal(5))
	})
})

// restartNamed restarts a fake container and tells the fake runtime the new
// one's name.
func restartNamed(pod *podresolvetest.Pod, oldID, name string) string {
	// The runtime knows the container's name before its process runs.
	newID, _ := pod.RestartContainerWith(GinkgoT(), oldID, "", func(id string) { fakeRuntime.set(pod.UID, id, name) })
	return newID
}

// udpPair returns a sender whose socket lives in namespace a and a receiver
// in b (10.198.0.2:9999).
func udpPair(a, b string) (*net.UDPConn, *net.UDPConn) { return udpPairPort(a, b, 9999) }

// udpPairPort is udpPair on another port.
func udpPairPort(a, b string, port int) (*net.UDPConn, *net.UDPConn) {
	var rx, tx *net.UDPConn
	Expect(netns.Do(b, func() (err error) {
		rx, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("10.198.0.2"), Port: port})
		return err
	})).To(Succeed())
	DeferCleanup(rx.Close)
	Expect(netns.Do(a, func() (err error) {
		tx, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.ParseIP("10.198.0.2"), Port: port})
		return err
	})).To(Succeed())
	DeferCleanup(tx.Close)
	return tx, rx
}

// vethPairTagged is vethPair with a tag in the namespace names, for specs
// that need two pairs.
func vethPairTagged(tag string) (a, b string) {
	na, nb := fmt.Sprintf("tba-%s-a", tag), fmt.Sprintf("tba-%s-b", tag)
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
		Expect(err).NotTo(HaveOccurred(), "ip %v: %s", args, strings.TrimSpace(string(out)))
	}
	return "/run/netns/" + na, "/run/netns/" + nb
}
