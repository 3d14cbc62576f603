package admission_test

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/internal/envtestutil"
)

var (
	testEnv *envtest.Environment
	cfg     *rest.Config  // the envtest admin (system:masters)
	admin   client.Client // direct, uncached
	scheme  = runtime.NewScheme()
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission policy suite (envtest, real kube-apiserver "+envtestutil.K8sVersion+")")
}

var _ = BeforeSuite(func(ctx context.Context) {
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
	crds, err := policyTestCRDs()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDs:                  crds,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	admin, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// What config/ ships: the policy and its binding, the generated
	// ClusterRoles and their bindings to the two ServiceAccounts.
	for _, f := range shippedManifests() {
		Expect(applyFile(ctx, f)).To(Succeed(), f)
	}
	waitPolicyEnforced(ctx)
}, NodeTimeout(2*time.Minute))

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
