package experiments_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/internal/envtestutil"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// readmeSections are the headings every experiment's README must have.
var readmeSections = []string{"**Hypothesis.**", "**Steady state.**", "**Blast radius.**", "**Abort.**", "**Expected result.**", "**Runs on.**"}

// TestExperiments checks every experiment: its README says what a game day
// needs, and every manifest is a strict, valid Fault that the real API
// server accepts (server-side dry run, so the CRD's CEL rules answer).
func TestExperiments(t *testing.T) {
	dirs, err := filepath.Glob("*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 {
		t.Fatalf("want at least 10 experiments, found %d", len(dirs))
	}

	assets, err := envtestutil.AssetsDir()
	if err != nil {
		testutil.Skip(t, "envtest binaries missing: "+err.Error())
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{envtestutil.CRDDir()}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	sch := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(sch))
	utilruntime.Must(chaosv1.AddToScheme(sch))
	c, err := client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "game-day"}}); err != nil {
		t.Fatal(err)
	}

	for _, readme := range dirs {
		dir := filepath.Dir(readme)
		t.Run(dir, func(t *testing.T) {
			text, err := os.ReadFile(readme)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range readmeSections {
				if !strings.Contains(string(text), s) {
					t.Errorf("%s lacks section %s", readme, s)
				}
			}
			manifests, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			if len(manifests) == 0 {
				t.Fatalf("%s has no manifest", dir)
			}
			for _, m := range manifests {
				data, err := os.ReadFile(m)
				if err != nil {
					t.Fatal(err)
				}
				var typed chaosv1.Fault
				if err := yaml.UnmarshalStrict(data, &typed); err != nil {
					t.Fatalf("%s: not a strict Fault: %v", m, err)
				}
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(data, &u.Object); err != nil {
					t.Fatal(err)
				}
				u.SetNamespace("game-day")
				if err := c.Create(ctx, u, client.DryRunAll); err != nil {
					t.Fatalf("%s rejected by the API server: %v", m, err)
				}
				t.Logf("%s: accepted (%s)", m, summary(&typed))
			}
		})
	}
}

func summary(f *chaosv1.Fault) string {
	if f.Spec.Network != nil {
		return "network " + string(f.Spec.Network.Type)
	}
	return "syscall " + string(f.Spec.Syscall.Errno)
}
