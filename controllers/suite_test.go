package controllers_test

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/controllers"
	"github.com/temblor-dev/temblor/internal/envtestutil"
)

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client // direct, uncached: assertions see the API server
	scheme    = runtime.NewScheme()
	fakeClock *testingclock.FakeClock
	cancelMgr context.CancelFunc
	mgrDone   sync.WaitGroup
)

// suiteMaxTargets stands in for chaosv1.MaxTargets (10,000) in the suite, so
// that a test can exceed it with a few pods.
const suiteMaxTargets = 10

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Fault controller suite (envtest, real kube-apiserver "+envtestutil.K8sVersion+")")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chaosv1.AddToScheme(scheme))

	assets, err := envtestutil.AssetsDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			Fail("CI=true needs the envtest binaries: " + err.Error())
		}
		Skip("envtest binaries missing: " + err.Error())
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{envtestutil.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	fakeClock = testingclock.NewFakeClock(time.Now())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Cache:   controllers.CacheOptions(scheme),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect((&controllers.FaultReconciler{
		Client:              mgr.GetClient(),
		Recorder:            mgr.GetEventRecorder("temblor-manager"),
		Clock:               fakeClock,
		ProtectedNamespaces: controllers.DefaultProtectedNamespaces,
		StatusRefresh:       100 * time.Millisecond,
		TeardownTimeout:     time.Hour,
		Rand:                rand.New(rand.NewPCG(1, 2)),
		MaxTargets:          suiteMaxTargets,
		// The abort specs call httptest servers on the loopback address.
		AbortCheckURLPrefixes: []string{"http://127.0.0.1"},
	}).SetupWithManager(mgr)).To(Succeed())

	var ctx context.Context
	ctx, cancelMgr = context.WithCancel(context.Background())
	mgrDone.Add(1)
	go func() {
		defer GinkgoRecover()
		defer mgrDone.Done()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if cancelMgr != nil {
		cancelMgr()
		mgrDone.Wait()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
