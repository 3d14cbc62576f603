package controllers_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/internal/envtestutil"
)

const (
	scaleNodes   = 100
	scalePods    = 10000
	scaleTargets = 5000
)

// BenchmarkFaultScale measures the manager binary against a real API server
// holding 10,000 pods over 100 nodes: the time from creating a Fault that
// selects 5,000 of them to all 100 FaultInjections written, and the
// manager's peak resident memory.
//
//	go test ./controllers/ -run '^$' -bench FaultScale -benchtime 3x
func BenchmarkFaultScale(b *testing.B) {
	assets, err := envtestutil.AssetsDir()
	if err != nil {
		b.Fatalf("envtest binaries: %v", err)
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{envtestutil.CRDDir()}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		b.Fatalf("start envtest: %v", err)
	}
	b.Cleanup(func() { _ = env.Stop() })
	cfg.QPS, cfg.Burst = 5000, 10000

	sch := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(sch))
	utilruntime.Must(chaosv1.AddToScheme(sch))
	c, err := client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()

	mgr := startManagerProcess(b, env)
	const ns = "scale"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	createScalePods(b, ctx, c, ns)
	b.Logf("created %d running pods on %d nodes in %s", scalePods, scaleNodes, time.Since(start).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // let the manager's cache catch up with the pods

	b.ResetTimer()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		f := &chaosv1.Fault{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("scale-%d", i)},
			Spec: chaosv1.FaultSpec{
				Selector: chaosv1.PodSelector{MatchLabels: map[string]chaosv1.SelectorValue{"tier": "a"}},
				Duration: metav1.Duration{Duration: time.Hour},
				FaultAction: chaosv1.FaultAction{Network: &chaosv1.NetworkAction{
					Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionBoth, Probability: "100",
				}},
			},
		}
		t0 := time.Now()
		if err := c.Create(ctx, f); err != nil {
			b.Fatal(err)
		}
		// Poll metadata only, so that watching does not load the API server.
		for {
			var meta metav1.PartialObjectMetadataList
			meta.SetGroupVersionKind(chaosv1.GroupVersion.WithKind("FaultInjectionList"))
			if err := c.List(ctx, &meta, client.InNamespace(ns), client.MatchingLabels{chaosv1.LabelFault: f.Name}); err != nil {
				b.Fatal(err)
			}
			if len(meta.Items) == scaleNodes {
				break
			}
			if time.Since(t0) > 2*time.Minute {
				b.Fatalf("only %d FaultInjections after 2m", len(meta.Items))
			}
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(t0)
		var list chaosv1.FaultInjectionList
		if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{chaosv1.LabelFault: f.Name}); err != nil {
			b.Fatal(err)
		}
		targets := 0
		for _, fi := range list.Items {
			targets += len(fi.Spec.Targets)
		}
		if targets != scaleTargets {
			b.Fatalf("FaultInjections hold %d targets, want %d", targets, scaleTargets)
		}
		b.Logf("fault %s: %d FaultInjections with %d targets written in %s", f.Name, len(list.Items), targets, elapsed.Round(time.Millisecond))
		total += elapsed
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "s/fault")
	b.ReportMetric(float64(peakRSS(b, mgr.Process.Pid))/(1<<20), "MiB-peak-RSS")
}

// createScalePods creates the pods in parallel and marks them Running; half
// carry tier=a.
func createScalePods(b *testing.B, ctx context.Context, c client.Client, ns string) {
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				tier := "b"
				if i%2 == 0 {
					tier = "a"
				}
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("pod-%05d", i), Labels: map[string]string{"tier": tier, "app": "scale"}},
					Spec: corev1.PodSpec{
						NodeName: fmt.Sprintf("node-%03d", (i/2)%scaleNodes), AutomountServiceAccountToken: ptr.To(false),
						Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}},
					},
				}
				err := c.Create(ctx, pod)
				if err == nil {
					pod.Status.Phase = corev1.PodRunning
					pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + pod.Name}}
					err = c.Status().Update(ctx, pod)
				}
				if err != nil {
					once.Do(func() { b.Errorf("create pod %s: %v", pod.Name, err) })
				}
			}
		}()
	}
	for i := range scalePods {
		work <- i
	}
	close(work)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// startManagerProcess builds cmd/manager and runs it against env, so that
// its memory is measured alone.
func startManagerProcess(b *testing.B, env *envtest.Environment) *exec.Cmd {
	dir := b.TempDir()
	bin := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", bin, "../cmd/manager")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build manager: %v\n%s", err, out)
	}
	user, err := env.AddUser(envtest.User{Name: "bench-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		b.Fatal(err)
	}
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		b.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--kube-api-qps=500", "--kube-api-burst=1000")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kcPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if b.Failed() {
			out, _ := os.ReadFile(logf.Name())
			b.Logf("manager log:\n%s", out)
		}
	})
	return cmd
}

// peakRSS reads VmHWM, the peak resident set size, of pid in bytes.
func peakRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}
