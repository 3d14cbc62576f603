package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
	"github.com/temblor-dev/temblor/internal/testutil"
)

const (
	helperEnv   = "TEMBLOR_AGENT_TEST_HELPER"
	connectEnv  = "TEMBLOR_AGENT_TEST_CONNECT"
	exitRefused = 3
)

// runHelper is the test binary re-executed inside a fake pod's cgroup: it
// connects to $TEMBLOR_AGENT_TEST_CONNECT and exits 0 on success, 3 on
// ECONNREFUSED.
func runHelper() int {
	c, err := net.DialTimeout("tcp", os.Getenv(connectEnv), 2*time.Second)
	if err == nil {
		c.Close()
		return 0
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return exitRefused
	}
	fmt.Fprintln(os.Stderr, "connect:", err)
	return 1
}

// connectResult runs the connect helper, in pod's app container when pod is
// not nil, and says "ok", "ECONNREFUSED" or the failure.
func connectResult(pod *podresolvetest.Pod, addr string) string {
	if pod == nil {
		return connectIn(nil, "", addr)
	}
	return connectIn(pod, pod.AppID, addr)
}

// connectIn runs the connect helper in one container of pod.
func connectIn(pod *podresolvetest.Pod, containerID, addr string) string {
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), helperEnv+"=connect", connectEnv+"="+addr)
	cmd.Stderr = GinkgoWriter
	if pod != nil {
		cmd = pod.CommandIn(GinkgoT(), cmd, containerID)
	}
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &exit) && exit.ExitCode() == exitRefused:
		return "ECONNREFUSED"
	}
	return err.Error()
}

// listener accepts and closes connections until the spec ends.
func listener() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(ln.Close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func target(p *podresolvetest.Pod, name string) chaosv1.InjectionTarget {
	return chaosv1.InjectionTarget{PodUID: p.UID, Namespace: "default", Name: name}
}

var connectRefused = chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{
	Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ECONNREFUSED", Probability: "100",
}}

// newInjection builds a FaultInjection the way the manager does: controlled
// by a Fault (created here, running, its status listing the targets on node
// and expiring at the deadline), our finalizer and the node label.
func newInjection(name, node string, deadline time.Time, act chaosv1.FaultAction, targets ...chaosv1.InjectionTarget) *chaosv1.FaultInjection {
	fault := createFault("default", name, node, deadline, act, targets...)
	return injectionFor(fault, node, deadline, targets...)
}

// createFault creates a running Fault whose status lists targets on node
// and expires at expiry, and deletes it when the spec ends.
func createFault(ns, name, node string, expiry time.Time, act chaosv1.FaultAction, targets ...chaosv1.InjectionTarget) *chaosv1.Fault {
	GinkgoHelper()
	f := &chaosv1.Fault{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: chaosv1.FaultSpec{
			Selector:    chaosv1.PodSelector{MatchLabels: map[string]chaosv1.SelectorValue{"app": "test"}},
			Duration:    metav1.Duration{Duration: time.Minute},
			FaultAction: act,
		},
	}
	Expect(k8sClient.Create(context.Background(), f)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), f))).To(Succeed()) })
	setFaultStatus(f, node, expiry, targets...)
	return f
}

// setFaultStatus writes a running Fault's status: its targets on node and
// its expiry.
func setFaultStatus(f *chaosv1.Fault, node string, expiry time.Time, targets ...chaosv1.InjectionTarget) {
	GinkgoHelper()
	start, exp := metav1.NewMicroTime(time.Now()), metav1.NewMicroTime(expiry)
	f.Status.Phase, f.Status.StartTime, f.Status.ExpiryTime = chaosv1.FaultRunning, &start, &exp
	f.Status.Targets = nil
	for _, t := range targets {
		f.Status.Targets = append(f.Status.Targets, chaosv1.Target{Name: t.Name, UID: t.PodUID, NodeName: node, ContainerIDs: t.ContainerIDs})
	}
	f.Status.TargetCount = int32(len(targets))
	Expect(k8sClient.Status().Update(context.Background(), f)).To(Succeed())
}

// injectionFor builds the FaultInjection of fault for node, as the manager
// does.
func injectionFor(fault *chaosv1.Fault, node string, deadline time.Time, targets ...chaosv1.InjectionTarget) *chaosv1.FaultInjection {
	GinkgoHelper()
	fi := &chaosv1.FaultInjection{
		ObjectMeta: metav1.ObjectMeta{
			Name: fault.Name, Namespace: fault.Namespace,
			Labels:     map[string]string{chaosv1.LabelNode: chaosv1.LabelValue(node), chaosv1.LabelFault: chaosv1.LabelValue(fault.Name)},
			Finalizers: []string{chaosv1.Finalizer},
		},
		Spec: chaosv1.FaultInjectionSpec{
			FaultName: fault.Name, NodeName: node, Targets: targets,
			Deadline: metav1.NewMicroTime(deadline), FaultAction: *fault.Spec.FaultAction.DeepCopy(),
		},
	}
	Expect(controllerutil.SetControllerReference(fault, fi, scheme)).To(Succeed())
	return fi
}

func get(fi *chaosv1.FaultInjection) *chaosv1.FaultInjection {
	out := &chaosv1.FaultInjection{}
	Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(fi), out)).To(Succeed())
	return out
}

// expectInjected waits until every target is Injected with methods.
func expectInjected(fi *chaosv1.FaultInjection, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		cur := &chaosv1.FaultInjection{}
		g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(fi), cur)).To(Succeed())
		g.Expect(cur.Status.Phase).To(Equal(chaosv1.InjectionInjected))
		g.Expect(cur.Status.Targets).To(HaveLen(len(fi.Spec.Targets)))
		for _, t := range cur.Status.Targets {
			g.Expect(t.State).To(Equal(chaosv1.TargetInjected), t.Message)
			g.Expect(t.Methods).NotTo(BeEmpty())
		}
	}).WithTimeout(timeout).WithPolling(20 * time.Millisecond).Should(Succeed())
}

// deleteAndExpectGone deletes fi and waits for the agent to release it.
func deleteAndExpectGone(fi *chaosv1.FaultInjection, timeout time.Duration) time.Duration {
	GinkgoHelper()
	start := time.Now()
	Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), fi))).To(Succeed())
	Eventually(func() bool {
		err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(fi), &chaosv1.FaultInjection{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(timeout).WithPolling(10 * time.Millisecond).Should(BeTrue())
	return time.Since(start)
}

// temblorBPF lists Temblor's loaded programs and links that no other
// process on this shared host holds, retrying while a link being released
// cannot be opened (EAGAIN).
func temblorBPF() []testutil.BPFObject {
	var err error
	for range 50 {
		var objs []testutil.BPFObject
		if objs, err = testutil.TemblorBPF(); err == nil {
			return withoutForeign(objs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	Expect(err).NotTo(HaveOccurred())
	return nil
}

// expectNoTemblorBPF waits (up to the kernel's release grace) until no
// Temblor program or link is loaded.
func expectNoTemblorBPF() {
	GinkgoHelper()
	Eventually(temblorBPF).WithTimeout(testutil.ReleaseGrace).WithPolling(50 * time.Millisecond).Should(BeEmpty())
	GinkgoWriter.Println("no Temblor BPF program or link loaded")
}

// metricValue sums a metric's samples on controller-runtime's registry.
func metricValue(name string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// percentile returns the p-th percentile (0-100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// uniqueName makes object names unique per spec.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

var _ = strings.TrimSpace

func findCondition(cs []metav1.Condition, t string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// histMean is a histogram's mean sample on controller-runtime's registry.
func histMean(name string) time.Duration {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			h := f.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() > 0 {
				return time.Duration(h.GetSampleSum() / float64(h.GetSampleCount()) * float64(time.Second))
			}
		}
	}
	return 0
}

func ctxBackground() context.Context { return context.Background() }

func keyOf(o client.Object) client.ObjectKey { return client.ObjectKeyFromObject(o) }

// dropEgressUDP drops every egress UDP datagram.
func dropEgressUDP() chaosv1.FaultAction {
	return chaosv1.FaultAction{Network: &chaosv1.NetworkAction{
		Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Probability: "100", Protocol: chaosv1.ProtocolUDP,
	}}
}
