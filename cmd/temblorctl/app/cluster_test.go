package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/controllers"
	"github.com/temblor-dev/temblor/internal/envtestutil"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// testNamespace is the namespace of the kubeconfig's context.
const testNamespace = "game-day"

// testCluster is envtest (a real kube-apiserver and etcd), the Fault
// manager running in-process, and a fake node agent.
type testCluster struct {
	env        *envtest.Environment
	kubeconfig string
	c          client.Client
	cancel     context.CancelFunc
	done       sync.WaitGroup
}

var (
	clusterOnce sync.Once
	shared      *testCluster
	sharedErr   error
)

// startCluster starts the shared cluster once for the package's tests.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	assets, err := envtestutil.AssetsDir()
	if err != nil {
		testutil.Skip(t, "envtest binaries missing: "+err.Error())
	}
	clusterOnce.Do(func() { shared, sharedErr = newCluster(assets) })
	if sharedErr != nil {
		t.Fatalf("start envtest: %v", sharedErr)
	}
	return shared
}

// stopCluster stops the shared cluster, if it was started.
func stopCluster() {
	if shared == nil {
		return
	}
	shared.cancel()
	shared.done.Wait()
	_ = shared.env.Stop()
}

func newCluster(assets string) (_ *testCluster, err error) {
	logf.SetLogger(logr.Discard())
	tc := &testCluster{env: &envtest.Environment{
		CRDDirectoryPaths: []string{envtestutil.CRDDir()}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets,
	}}
	cfg, err := tc.env.Start()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tc.env.Stop()
		}
	}()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chaosv1.AddToScheme(scheme))
	if tc.c, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if tc.kubeconfig, err = writeKubeconfig(tc.env); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	tc.cancel = cancel
	if err := tc.seed(ctx); err != nil {
		cancel()
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Cache: controllers.CacheOptions(scheme), Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		cancel()
		return nil, err
	}
	if err := (&controllers.FaultReconciler{
		Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("temblor-manager"), Clock: clock.RealClock{},
		ProtectedNamespaces: controllers.DefaultProtectedNamespaces, StatusRefresh: 200 * time.Millisecond,
		TeardownTimeout: time.Hour, Rand: rand.New(rand.NewPCG(1, 2)),
	}).SetupWithManager(mgr); err != nil {
		cancel()
		return nil, err
	}
	tc.done.Add(2)
	go func() { defer tc.done.Done(); _ = mgr.Start(ctx) }()
	go func() { defer tc.done.Done(); tc.fakeAgent(ctx) }()
	return tc, nil
}

// writeKubeconfig writes an admin kubeconfig whose context's namespace is
// testNamespace, so that commands without -n use it.
func writeKubeconfig(env *envtest.Environment) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "temblorctl-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("add user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	kc, err := clientcmd.Load(data)
	if err != nil {
		return "", fmt.Errorf("load kubeconfig: %w", err)
	}
	kc.Contexts[kc.CurrentContext].Namespace = testNamespace
	path := filepath.Join(env.ControlPlane.APIServer.CertDir, "temblorctl.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	return path, nil
}

// seed creates the namespace, two nodes and two running pods labelled
// app=web, one on each node.
func (tc *testCluster) seed(ctx context.Context) error {
	if err := tc.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNamespace}}); err != nil {
		return err
	}
	for i, node := range []string{"node-a", "node-b"} {
		if err := tc.c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}); err != nil {
			return err
		}
		name := fmt.Sprintf("web-%d", i)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name, Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{NodeName: node, AutomountServiceAccountToken: ptr.To(false),
				Containers: []corev1.Container{{Name: "app", Image: "example.invalid/web:1"}}},
		}
		if err := tc.c.Create(ctx, pod); err != nil {
			return err
		}
		pod.Status.Phase = corev1.PodRunning
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + name}}
		if err := tc.c.Status().Update(ctx, pod); err != nil {
			return err
		}
	}
	return nil
}

// fakeAgent plays the node agents: it reports every FaultInjection's
// targets injected, with counters that climb on each pass, and confirms
// teardown of deleted ones by removing their finalizer.
func (tc *testCluster) fakeAgent(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var list chaosv1.FaultInjectionList
		if err := tc.c.List(ctx, &list, client.InNamespace(testNamespace)); err != nil {
			continue
		}
		for i := range list.Items {
			fi := &list.Items[i]
			if fi.DeletionTimestamp != nil {
				patch := client.MergeFrom(fi.DeepCopy())
				if controllerutil.RemoveFinalizer(fi, chaosv1.Finalizer) {
					_ = tc.c.Patch(ctx, fi, patch)
				}
				continue
			}
			patch := client.MergeFrom(fi.DeepCopy())
			fi.Status.Phase = chaosv1.InjectionInjected
			fi.Status.ObservedGeneration = fi.Generation
			fi.Status.Counters.Add(chaosv1.Counters{PacketsMatched: 10, PacketsDropped: 10, SyscallsMatched: 4, SyscallsFailed: 4})
			fi.Status.Targets = nil
			for _, t := range fi.Spec.Targets {
				fi.Status.Targets = append(fi.Status.Targets, chaosv1.TargetStatus{
					PodUID: t.PodUID, Name: t.Name, State: chaosv1.TargetInjected,
					Methods: []string{"eth0 ingress xdp-native", "eth0 egress tcx"}, Counters: fi.Status.Counters,
				})
			}
			now := metav1.Now()
			fi.Status.LastUpdateTime = &now
			_ = tc.c.Status().Patch(ctx, fi, patch)
		}
	}
}

// kubectl-like flags pointing at the test cluster.
func (tc *testCluster) flags(args ...string) []string {
	return append([]string{"--kubeconfig", tc.kubeconfig}, args...)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
