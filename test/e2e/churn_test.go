//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The short version of issue 11's R5 churn (the full one is `make churn`):
// hack/churn creates and ends 60 Faults, 20 alive at once over 5 victim
// pods, network and syscall mixed, deletes landing mid-attach, the agent
// SIGKILLed twice, and checks that nothing is left: no Temblor BPF program,
// link or map, no tc filter, no cgroup directory or netns of a deleted
// victim, and the agent's fds and RSS back at a baseline. It exits non-zero
// on any leak, on a Fault that did not end, or when fewer cycles or kills
// ran than asked.
var _ = Describe("Churn of Faults with agent kills", Ordered, Label("churn"), func() {
	It("runs 60 cycles with 2 agent SIGKILLs and leaves nothing behind", func() {
		requireTemblor()
		if os.Geteuid() != 0 {
			skipOrFail("needs root on the node: it reads the kernel's BPF objects and the pods' namespaces and SIGKILLs the agent")
		}
		bin := filepath.Join(GinkgoT().TempDir(), "churn")
		out, err := exec.Command("go", "build", "-o", bin, "../../hack/churn").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		var buf bytes.Buffer
		cmd := exec.Command(bin, "-cycles", "60", "-concurrent", "20", "-pods", "5", "-agent-kills", "2", "-warmup", "10",
			"-image", appImage, "-pull-policy", pullPolicy)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		cmd.Stdout = io.MultiWriter(&buf, GinkgoWriter)
		cmd.Stderr = cmd.Stdout
		start := time.Now()
		err = cmd.Run()
		AddReportEntry("churn (short)", buf.String())
		Expect(err).NotTo(HaveOccurred(), "hack/churn failed after %s; its table is in the output", time.Since(start).Round(time.Second))
		Expect(buf.String()).To(ContainSubstring("churn: PASS"))
	})
})
