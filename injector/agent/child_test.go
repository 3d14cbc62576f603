package agent_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/temblor-dev/temblor/injector/agent"
	"github.com/temblor-dev/temblor/injector/convert"
	"github.com/temblor-dev/temblor/injector/podresolve"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// childEnv names a directory holding the API server's address and
// credentials; when set, the test binary runs as a node agent for nodeB.
const childEnv = "TEMBLOR_AGENT_TEST_CHILD"

// writeChildConfig stores the envtest credentials for a child agent, and
// its --network-method.
func writeChildConfig(networkMethod string) string {
	dir := GinkgoT().TempDir()
	for name, data := range map[string][]byte{
		"host": []byte(cfg.Host), "ca.crt": cfg.CAData, "tls.crt": cfg.CertData, "tls.key": cfg.KeyData,
		"cgroup-root": []byte(cgroupRoot), "network-method": []byte(networkMethod), "pod-root": []byte(podRoot),
	} {
		Expect(os.WriteFile(filepath.Join(dir, name), data, 0o600)).To(Succeed())
	}
	return dir
}

// startChild runs the test binary as nodeB's agent.
func startChild(dir string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	Expect(cmd.Start()).To(Succeed())
	return cmd
}

// runChildAgent is main() of a child agent.
func runChildAgent(dir string) int {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			fmt.Fprintln(os.Stderr, "child agent:", err)
			os.Exit(1)
		}
		return b
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	cfg := &rest.Config{
		Host:            string(read("host")),
		TLSClientConfig: rest.TLSClientConfig{CAData: read("ca.crt"), CertData: read("tls.crt"), KeyData: read("tls.key")},
	}
	method, err := convert.ParseNetworkMethod(string(read("network-method")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child agent:", err)
		return 1
	}
	a := &agent.Agent{
		NetworkMethod:  method,
		NodeName:       nodeB,
		Resolver:       &podresolve.Resolver{CgroupRoot: string(read("cgroup-root")), HostNetNSPath: hostNetNS},
		SyscallBackend: sysfault.Cgroup,
		StatusInterval: statusInterval,
		APIServerGrace: 30 * time.Second,
		SweepPod:       ownFakePod(string(read("pod-root"))),
	}
	mgr, err := agent.NewManager(cfg, a, agent.ManagerOptions{MetricsBindAddress: "0"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child agent:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := mgr.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child agent:", err)
		return 1
	}
	return 0
}
