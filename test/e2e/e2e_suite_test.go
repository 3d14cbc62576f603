//go:build e2e

// Package e2e holds Temblor's end-to-end suites. They drive a real cluster
// with the real kubectl: by default the local one from hack/cluster
// (`go run ./hack/cluster up && go run ./hack/cluster load-images &&
// go run ./hack/cluster deploy`), or any cluster when KUBECONFIG is set.
//
//	go test -tags e2e ./test/e2e/ -v -ginkgo.v                      # everything
//	go test -tags e2e ./test/e2e/ -ginkgo.label-filter=smoke        # cluster only
//
// Environment:
//
//	KUBECONFIG              cluster to test (default: the hack/cluster one)
//	KUBECTL                 kubectl binary (default: the cached v1.34.2 build, then PATH)
//	E2E_APP_IMAGE           demo workload image (default docker.io/temblor/e2e-app:dev)
//	E2E_IMAGE_PULL_POLICY   its pull policy (default Never: imported, not pulled)
//	E2E_KEEP_NAMESPACE      set to keep the test namespace for debugging
package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	// The suite's controller-runtime clients log through Ginkgo's writer.
	ctrllog.SetLogger(GinkgoLogr)
	RunSpecs(t, "Temblor e2e")
}

var (
	kubeconfig string
	kubectlBin string
	appImage   string
	pullPolicy string
)

var _ = BeforeSuite(func() {
	kubeconfig = os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		kubeconfig = "/var/lib/temblor-cluster/kubeconfig"
	}
	if _, err := os.Stat(kubeconfig); err != nil {
		skipOrFail(fmt.Sprintf("no cluster: %s missing (run `go run ./hack/cluster up` or set KUBECONFIG)", kubeconfig))
	}
	kubectlBin = os.Getenv("KUBECTL")
	if kubectlBin == "" {
		home, _ := os.UserHomeDir()
		cached := filepath.Join(home, ".cache", "temblor", "k8s", "v1.34.2", "bin", "kubectl")
		if _, err := os.Stat(cached); err == nil {
			kubectlBin = cached
		} else {
			kubectlBin = "kubectl"
		}
	}
	appImage = envOr("E2E_APP_IMAGE", "docker.io/temblor/e2e-app:dev")
	pullPolicy = envOr("E2E_IMAGE_PULL_POLICY", "Never")
	GinkgoWriter.Printf("KUBECONFIG=%s kubectl=%s app image=%s\n", kubeconfig, kubectlBin, appImage)
	Eventually(func() error { _, err := kubectl("version"); return err }).
		WithTimeout(30 * time.Second).Should(Succeed())
})

// skipOrFail skips a spec whose prerequisite is missing on a developer's
// cluster; in CI (CI=true) the prerequisite must be there, so it fails.
func skipOrFail(reason string) {
	GinkgoHelper()
	if os.Getenv("CI") == "true" {
		Fail("CI=true requires this spec to run: " + reason)
	}
	Skip(reason)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// kubectl runs the real kubectl against the suite's cluster.
func kubectl(args ...string) (string, error) {
	return kubectlIn("", args...)
}

func kubectlIn(stdin string, args ...string) (string, error) {
	cmd := exec.Command(kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func mustKubectl(args ...string) string {
	GinkgoHelper()
	out, err := kubectl(args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func apply(manifest string) {
	GinkgoHelper()
	_, err := kubectlIn(manifest, "apply", "-f", "-")
	Expect(err).NotTo(HaveOccurred())
}

func randSuffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testNamespace creates a namespace for one Ordered container, waits until
// the controller manager gave it its default ServiceAccount (no pod can be
// created before), and registers its deletion.
func testNamespace(prefix string) string {
	GinkgoHelper()
	ns := prefix + "-" + randSuffix()
	mustKubectl("create", "namespace", ns)
	Eventually(func() error {
		_, err := kubectl("get", "serviceaccount", "-n", ns, "default", "-o", "name")
		return err
	}).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(Succeed(),
		"namespace %s has no default ServiceAccount: is kube-controller-manager's serviceaccount controller running?", ns)
	DeferCleanup(func() {
		if os.Getenv("E2E_KEEP_NAMESPACE") != "" {
			GinkgoWriter.Printf("keeping namespace %s\n", ns)
			return
		}
		kubectl("delete", "namespace", ns, "--wait=false")
	})
	return ns
}

// dumpOnFailure registers an AfterEach that prints the namespace's pods,
// events and logs (and Temblor's) when the spec failed.
func dumpOnFailure(ns *string) {
	AfterEach(func() {
		if !CurrentSpecReport().Failed() {
			return
		}
		dump := func(title string, args ...string) {
			out, err := kubectl(args...)
			GinkgoWriter.Printf("\n===== %s\n%s", title, out)
			if err != nil {
				GinkgoWriter.Printf("(%v)\n", err)
			}
		}
		dump("nodes", "get", "nodes", "-o", "wide")
		dump("pods "+*ns, "get", "pods", "-n", *ns, "-o", "wide")
		dump("events "+*ns, "get", "events", "-n", *ns, "--sort-by=.lastTimestamp")
		dump("faults "+*ns, "get", "faults,faultinjections", "-n", *ns, "-o", "yaml")
		dump("describe pods "+*ns, "describe", "pods", "-n", *ns)
		if out, err := kubectl("get", "pods", "-n", *ns, "-o", "name"); err == nil {
			for _, p := range strings.Fields(out) {
				dump("logs "+p, "logs", "-n", *ns, p, "--all-containers", "--tail=50")
			}
		}
		dump("temblor-system pods", "get", "pods", "-n", "temblor-system", "-o", "wide")
		dump("temblor-system events", "get", "events", "-n", "temblor-system", "--sort-by=.lastTimestamp")
		dump("manager logs", "logs", "-n", "temblor-system", "deploy/temblor-manager", "--tail=80")
		dump("agent logs", "logs", "-n", "temblor-system", "ds/temblor-agent", "--tail=80")
	})
}

// appPod is a demo workload pod (test/e2e/images/app).
func appPod(ns, name string, labels map[string]string, args ...string) string {
	var l strings.Builder
	for k, v := range labels {
		fmt.Fprintf(&l, "    %s: %q\n", k, v)
	}
	qargs := make([]string, len(args))
	for i, a := range args {
		qargs[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels:
%s
spec:
  terminationGracePeriodSeconds: 2
  automountServiceAccountToken: false
  enableServiceLinks: false
  containers:
  - name: app
    image: %s
    imagePullPolicy: %s
    args: [%s]
    securityContext:
      runAsNonRoot: true
      runAsUser: 65532
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
`, name, ns, l.String(), appImage, pullPolicy, strings.Join(qargs, ", "))
}

func podIP(ns, name string) string {
	GinkgoHelper()
	var ip string
	Eventually(func() (string, error) {
		out, err := kubectl("get", "pod", "-n", ns, name, "-o", "jsonpath={.status.podIP}")
		ip = strings.TrimSpace(out)
		return ip, err
	}).WithTimeout(60 * time.Second).ShouldNot(BeEmpty())
	return ip
}

func waitReady(ns, name string) {
	GinkgoHelper()
	_, err := kubectl("wait", "-n", ns, "--for=condition=Ready", "--timeout=90s", "pod/"+name)
	Expect(err).NotTo(HaveOccurred())
}

// clientStats is what the app client serves at /stats.
type clientStats struct {
	Sent        int64   `json:"sent"`
	OK          int64   `json:"ok"`
	Failed      int64   `json:"failed"`
	WindowSent  int64   `json:"windowSent"`
	WindowOK    int64   `json:"windowOK"`
	SuccessRate float64 `json:"successRate"`
	LastError   string  `json:"lastError"`
}

// stats reads the client's /stats through the API server's pod proxy: the
// request comes from the API server on the node, so a fault scoped to the
// client pod does not touch it.
func stats(ns, pod string) (clientStats, error) {
	var s clientStats
	out, err := kubectl("get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:8081/proxy/stats", ns, pod))
	if err != nil {
		return s, err
	}
	err = json.Unmarshal([]byte(out), &s)
	return s, err
}
